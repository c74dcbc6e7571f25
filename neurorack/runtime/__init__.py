"""The model runtime: load an exported model folder and stream it, frame by frame, without torch.

``load_model(path)`` checks and reads a model folder; ``NumpyModel`` renders descriptor frames
to audio with explicit state; ``ModelVoice`` plays a descriptor trajectory on each gate.
"""
