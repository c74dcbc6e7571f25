"""The OLED user interface: menu tree, navigation, the pages (``pages/``: one object per
page, with ``enc``, ``key`` and ``redraw``), rendering, display backends.

Nothing here talks to the screen: pages draw 1-bit 128x64 PIL images, which a display
backend shows (``display``; the OLED itself is ``neurorack.hardware.oled``).
"""
