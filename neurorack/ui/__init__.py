"""The OLED user interface: menu tree, navigation, the pages (``pages/``: one object per
page, with ``enc``, ``key`` and ``redraw``), rendering, display backends.

Nothing here talks to the screen except ``display``; pages produce 1-bit 128x64 PIL images.
"""
