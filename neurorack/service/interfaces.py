"""What a builder enables on each board before the module can reach its hardware."""

from __future__ import annotations

from pathlib import Path

DEVICE_TREE_MODEL = Path("/proc/device-tree/model")

# board name (as in hardware/boards) -> the steps, one interface per line
INTERFACE_STEPS: dict[str, tuple[str, ...]] = {
    "raspberry-pi-4": (
        "SPI (MCP3008 ADC): sudo raspi-config nonint do_spi 0   (or dtparam=spi=on in /boot/firmware/config.txt)",
        "I2C (OLED): sudo raspi-config nonint do_i2c 0   (or dtparam=i2c_arm=on in /boot/firmware/config.txt)",
        ("I2S DAC (PCM5102 class): add dtoverlay=hifiberry-dac to /boot/firmware/config.txt "
         "(/boot/config.txt before Bookworm)"),
        "then reboot, and check: ls /dev/spidev0.0 /dev/i2c-1 && neurorack devices",
    ),
    "raspberry-pi-5": (
        "SPI (MCP3008 ADC): sudo raspi-config nonint do_spi 0   (or dtparam=spi=on in /boot/firmware/config.txt)",
        "I2C (OLED): sudo raspi-config nonint do_i2c 0   (or dtparam=i2c_arm=on in /boot/firmware/config.txt)",
        "I2S DAC (PCM5102 class): add dtoverlay=hifiberry-dac to /boot/firmware/config.txt",
        "then reboot, and check: ls /dev/spidev0.0 /dev/i2c-1 && neurorack devices",
    ),
    "jetson-nano": (
        ("SPI (MCP3008 ADC): sudo /opt/nvidia/jetson-io/jetson-io.py, 'Configure 40-pin expansion header', "
         "enable spi1; then echo spidev | sudo tee /etc/modules-load.d/spidev.conf"),
        "I2C (OLED): bus 1 on header pins 3 and 5 is on by default (/dev/i2c-1)",
        ("GPIO group: Jetson.GPIO's udev rule gives the gpio group access: sudo groupadd -f -r gpio, "
         "then copy 99-gpio.rules from the Jetson.GPIO package to /etc/udev/rules.d"),
        "Audio: L4T has no driver for a PCM5102-class I2S DAC; use a USB audio interface",
        "then reboot, and check: ls /dev/spidev0.0 /dev/i2c-1 && neurorack devices",
    ),
}


def detect_board(model_file: Path = DEVICE_TREE_MODEL) -> str | None:
    """The board this runs on, from the device tree's model string, or None if unknown."""
    try:
        model = model_file.read_bytes().decode("ascii", "replace").rstrip("\0").lower()
    except OSError:
        return None
    if "raspberry pi 5" in model:
        return "raspberry-pi-5"
    if "raspberry pi 4" in model:
        return "raspberry-pi-4"
    if "jetson nano" in model or "jetson-nano" in model:
        return "jetson-nano"
    return None


def interface_advice(board: str | None) -> list[str]:
    """Lines telling the builder which interfaces to enable: for ``board``, or for every
    known board when it is None."""
    boards = [board] if board in INTERFACE_STEPS else list(INTERFACE_STEPS)
    lines = []
    for name in boards:
        lines.append(f"On a {name}, enable:")
        lines += [f"  - {step}" for step in INTERFACE_STEPS[name]]
    return lines
