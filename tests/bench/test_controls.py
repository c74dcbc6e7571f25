"""neurorack_bench.controls: ``neurorack bench controls`` through the CLI."""

import json

from neurorack.cli import main


def test_bench_controls_prints_json_figures(capsys):
    assert main(["bench", "controls", "--seconds", "1.5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["missed_edges"] == 0 and result["extra_edges"] == 0
    assert result["gate_edges"] >= 4
    assert result["reads_per_s"] > 1000
    assert result["gate_detection_latency_ms"]["p50"] > 0
    assert 0 < result["poller_cpu_percent"] < 100
    assert result["audio_callback"] == {"runs": "native", "why": None}  # every bench says which audio callback this install plays
