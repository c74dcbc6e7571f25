"""Control inputs: the ADC poller, CV conditioning and calibration, gate detection, the encoder
and the button, and the panel that builds them for a board; they turn hardware readings into
``neurorack.core.events`` (gate edges, turns, presses) and CV snapshots."""
