"""The torch-free core: the events the controls produce (gate edges, encoder turns, presses),
the descriptors, the models' architectures as data, the synthesis tables and spectral lock,
the percussion model's features and streaming NumPy parts, and signal helpers. The module's
runtime and the toolbox both build on it; it never imports torch (``neurorack.ml`` does)."""
