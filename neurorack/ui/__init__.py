"""The OLED user interface: menu tree, navigation, page rendering, display backends.

Nothing here talks to the screen except ``display``; pages produce 1-bit 128x64 PIL images.
"""
