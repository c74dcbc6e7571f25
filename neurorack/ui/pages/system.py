"""The System status page: address, load, temperature, memory, dropouts, uptime, version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neurorack.ui.pages.base import DROPOUTS, SYSTEM, InfoScreen, register_page
from neurorack.ui.render import text_lines, title

if TYPE_CHECKING:
    from PIL import ImageDraw

    from neurorack.ui.frame import Frame


@register_page("system")
@dataclass(frozen=True)
class SystemScreen(InfoScreen):
    """Figures about the module."""

    needs = frozenset({DROPOUTS, SYSTEM})

    def redraw(self, draw: ImageDraw.ImageDraw, frame: Frame) -> None:
        title(draw, "System")
        info = frame.system
        if info is None:
            text_lines(draw, ["no figures"])
            return
        cpu = f"CPU {info.cpu_percent:.0f}%" if info.cpu_percent is not None else "CPU ?"
        temperature = f"{info.temperature_c:.1f} C" if info.temperature_c is not None else "? C"
        memory = (f"Mem {info.memory_used_mb:.0f}/{info.memory_total_mb:.0f} MB"
                  if info.memory_used_mb is not None and info.memory_total_mb is not None else "Mem ?")
        text_lines(draw, [
            f"IP {info.ip_address or 'none'}",
            f"{cpu}   {temperature}",
            memory,
            f"Dropouts {frame.underflows}   up {_duration(info.uptime_s)}",
            f"Version {info.version}",
        ])


def _duration(seconds) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
