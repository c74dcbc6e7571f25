"""``neurorack bench offline``: how fast the demo performance renders offline.

The demo runs in two passes: the jacks are read through the simulated MCP3008 by the real
driver at the board's poll rate (the module reads them in real time beside the audio), then
the audio is rendered through the engine on the offline backend's virtual clock. Both are
timed, each run separately; the figures are those of the run whose audio render took the
median time. Nothing heavy is imported at
module level (``neurorack --help`` stays fast).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def run_offline_bench(config, seconds: float = 8.0, voice: str = "test", runs: int = 3) -> dict:
    """Render the demo ``runs`` times; the median run's figures (see the module's notes)."""
    from neurorack.app.demo import render_demo
    from neurorack.audio.backends.native_callback import installed_callback

    results = []
    with tempfile.TemporaryDirectory(prefix="neurorack-bench-") as folder:
        for run in range(runs):
            results.append(render_demo(config, Path(folder) / f"run{run}.wav", seconds, screen=False,
                                       test_voice=voice == "test"))
    median = sorted(results, key=lambda r: r["render_s"])[len(results) // 2]
    return {
        "seconds": median["seconds"],
        "voice": median["voice"],
        "model": median["model"],
        "model_dir": median["model_dir"],
        "sounds": list(dict.fromkeys(s["sound"] for s in median["sounds"])),
        "block_size": median["block_size"],
        "sample_rate": median["sample_rate"],
        "runs": runs,
        "audio_callback": installed_callback(),
        "render_s": median["render_s"],
        "realtime_factor": median["realtime_factor"],
        "realtime_factor_runs": [r["realtime_factor"] for r in results],
        "jacks_s": median["jacks_s"],
        "adc_reads": median["adc_reads"],
        "poll_hz": median["poll_hz"],
        "realtime_factor_with_jacks": median["realtime_factor_with_jacks"],
        "gates": median["gates"],
    }


def run_offline_command(args: argparse.Namespace, config) -> int:
    result = run_offline_bench(config, args.seconds, args.voice, args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['seconds']:.1f} s of the demo with {played(result)}: audio rendered at "
              f"{result['realtime_factor']:.0f}x real time (median of {result['runs']}); the simulated jacks "
              f"({result['adc_reads']} ADC reads at {result['poll_hz']:.0f} Hz) took {result['jacks_s']:.2f} s, "
              f"{result['realtime_factor_with_jacks']:.0f}x with both passes")
    return 0


def played(result: dict) -> str:
    """What the bench measured: the voice (the model's folder and the sounds it played) and the blocks."""
    blocks = f"{result['block_size']}-frame blocks at {result['sample_rate']} Hz"
    if result["model"] is None:
        return f"the built-in test voice ({blocks})"
    return f"model {result['model_dir']}, sounds {', '.join(result['sounds'])} ({blocks})"
