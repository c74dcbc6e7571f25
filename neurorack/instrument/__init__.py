"""The instrument: sound banks, trajectories, CV routing, the polyphonic voice and the module."""
