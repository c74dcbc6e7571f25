"""Hardware backends, real and simulated, behind small interfaces.

Only the backend modules import RPi.GPIO, Jetson.GPIO, Blinka (board, busio, digitalio)
or spidev, and only inside functions, so importing the package never touches hardware.
"""
