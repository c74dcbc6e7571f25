"""Fault family "config": mutated files through the real loaders."""

from __future__ import annotations

import random
import time

import pytest

from neurorack.errors import NeurorackError
from neurorack_bench import faults_config
from neurorack_bench.faults_config import (
    MUTATIONS,
    Mutant,
    Target,
    check_cli,
    judge,
    mutate,
    targets,
)

TARGETS = {t.kind if t.kind != "board" else t.file_name: t for t in targets()}


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_every_mutation_of_every_file_kind_is_refused_clearly_or_loads(kind, mutation, tmp_path):
    target = TARGETS[kind]
    for seed in range(2):
        mutant = mutate(target.base_text, mutation, random.Random(seed), target.max_bytes, target.extra_keys)
        path = tmp_path / f"{seed}-{target.file_name}"
        path.write_bytes(mutant.data)
        ok, why = judge(target, mutant, path)
        assert ok, why


def test_the_unmutated_files_load(tmp_path):
    for target in TARGETS.values():
        path = tmp_path / target.file_name
        path.write_text(target.base_text, encoding="utf-8")
        target.load(path)


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_a_file_over_its_cap_is_refused_at_once_saying_so(kind, tmp_path):
    target = TARGETS[kind]
    mutant = mutate(target.base_text, "oversized", random.Random(0), target.max_bytes, target.extra_keys)
    assert len(mutant.data) > target.max_bytes
    path = tmp_path / target.file_name
    path.write_bytes(mutant.data)
    started = time.perf_counter()
    ok, why = judge(target, mutant, path)
    assert ok, why
    assert time.perf_counter() - started < 1.0
    assert why.startswith(f"{path}: is ") and "over the" in why


def test_a_card_keeps_the_keys_the_module_does_not_read_but_checks_the_others(tmp_path):
    card = TARGETS["card"]
    assert card.extra_keys and card.max_bytes > TARGETS["module"].max_bytes
    path = tmp_path / "model.yaml"
    path.write_text(card.base_text + "trimming: {rounds: [1, 2]}\n")
    card.load(path)
    path.write_text(card.base_text.replace("parameters: 24555", "parameters: 24,555 weights"))
    ok, why = judge(card, Mutant("type_swap", b"", key="parameters", needs_line=True, must_reject=True), path)
    assert ok and why == f"{path}:3: parameters: expected a whole number or null, got '24,555 weights'"


def test_an_oversized_file_refused_for_another_reason_is_lost(tmp_path):
    path = tmp_path / "fake.yaml"
    path.write_text("a: 1\n")

    def anchors(p):
        raise NeurorackError(f"{p}:1: expands to more than 100000 values (anchors and aliases?)")

    mutant = Mutant("oversized", b"", must_reject=True, must_say="limit for this kind of YAML file")
    ok, why = judge(_fake_target(anchors), mutant, path)
    assert not ok and why.startswith("does not say 'limit for this kind of YAML file'")


def test_a_number_in_quotes_taken_as_a_number_or_refused_without_saying_so_is_lost(tmp_path, monkeypatch):
    """The check can fail: a loader reading sample_rate: '48000' as 48000, or one saying only
    "got '48000'" (the message before the fix)."""
    from neurorack.config import schema

    module = TARGETS["module"]
    mutant = mutate(module.base_text, "quoted_number", random.Random(0))
    path = tmp_path / module.file_name
    path.write_bytes(mutant.data)
    assert judge(module, mutant, path)[0]
    monkeypatch.setattr(schema, "_is_number", lambda text: False)
    ok, why = judge(module, mutant, path)
    assert not ok and why.startswith("does not say 'a number in quotes'")
    assert judge(_fake_target(lambda p: None), mutant, path) == (
        False, "accepted: the file loaded although it should be refused (quoted_number)")


def _fake_target(load) -> Target:
    return Target("fake", "fake.yaml", "a: 1\n", load)


def test_judge_counts_a_traceback_a_hang_and_an_unclear_message_as_lost(tmp_path, monkeypatch):
    path = tmp_path / "fake.yaml"
    path.write_text("a: 1\n")
    mutant = Mutant("type_swap", b"", key="a", needs_line=True)

    def raises_key_error(p):
        raise KeyError("a")

    def hangs(p):
        time.sleep(10)

    def vague(p):
        raise NeurorackError("something is wrong")

    def two_lines(p):
        raise NeurorackError(f"{p}:1: a: bad\n{p}:2: b: bad")

    monkeypatch.setattr(faults_config, "CASE_LIMIT_S", 0.3)
    assert judge(_fake_target(raises_key_error), mutant, path) == (False, "traceback: KeyError: 'a'")
    assert judge(_fake_target(hangs), mutant, path)[1].startswith("hang")
    assert "does not start with the file name" in judge(_fake_target(vague), mutant, path)[1]
    assert "expected one line, got 2" in judge(_fake_target(two_lines), mutant, path)[1]
    assert judge(_fake_target(lambda p: None), Mutant("nan_inf", b"", must_reject=True), path)[0] is False


def test_config_check_subprocess_exits_2_with_one_error_line(tmp_path):
    bad = tmp_path / "module.yaml"
    bad.write_text("audio:\n  block_size: [1, 2]\n", encoding="utf-8")
    ok, line = check_cli(bad, loaded_in_process=False)
    assert ok, line
    assert line.startswith(f"neurorack: error: {bad}:2: audio.block_size: expected")


def test_family_run_counts_every_case(tmp_path):
    result = faults_config.run(len(TARGETS) * 3, random.Random(0), tmp_path, lambda done, total: None)
    assert result.tried == len(TARGETS) * 3
    assert result.lost == 0, result.failures
    assert result.notes["cli_checked"] == 3  # the three module configs, each also through the CLI
