"""Where the engine's samples go: a sound device, or a WAV file (offline or paced)."""
