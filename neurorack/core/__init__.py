"""The torch-free core of the percussion sound model: its architecture as data, the timbre
features its encoder reads, and its streaming NumPy runtime. The module's runtime imports
this without the training toolbox (``neurorack.ml``, which imports torch)."""
