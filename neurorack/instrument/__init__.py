"""The instrument: sound banks, trajectories, CV routing and the polyphonic voice that plays a model."""
