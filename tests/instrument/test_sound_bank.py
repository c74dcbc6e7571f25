"""Loading a bank with its templates: every file it names stays in its folder and is a
regular file; the bank file itself is one too."""

import os

import pytest

from neurorack.config.sound_bank import Curves
from neurorack.instrument.sound_bank import load_bank
from neurorack.instrument.trajectory import TemplateError, from_curves, save_template
from neurorack.safe_read import FileRefused
from neurorack_bench.faults import time_limit


def write_bank(folder, template):
    folder.mkdir(parents=True, exist_ok=True)
    bank = folder / "bank.yaml"
    bank.write_text(f"sounds:\n  - name: Kick\n    template: {template}\n")
    return bank


@pytest.fixture
def template(tmp_path):
    return save_template(tmp_path / "kick.csv", from_curves(Curves(duration_s=0.1, pitch_hz=[[0.0, 60.0]])))


def test_a_template_in_the_banks_folder_loads(tmp_path, template):
    bank = write_bank(tmp_path / "bank", "templates/kick.csv")
    (tmp_path / "bank" / "templates").mkdir()
    template.rename(tmp_path / "bank" / "templates" / "kick.csv")
    assert load_bank(bank).names == ("Kick",)


@pytest.mark.parametrize("written", ["../kick.csv", "ABSOLUTE", "templates/kick.csv"])
def test_a_template_outside_the_banks_folder_is_refused_naming_it(tmp_path, template, written):
    folder = tmp_path / "bank"
    if written == "templates/kick.csv":  # a symlink out of the folder
        (folder / "templates").mkdir(parents=True)
        (folder / "templates" / "kick.csv").symlink_to(template)
    written = str(template) if written == "ABSOLUTE" else written
    bank = write_bank(folder, written)
    with pytest.raises(TemplateError, match=f"^{folder / written}: leads to {template}, outside {folder};"):
        load_bank(bank)


@pytest.mark.parametrize("written", ["/dev/zero", "kick.csv"])
def test_a_template_that_is_a_device_or_a_fifo_is_refused_at_once(tmp_path, written):
    bank = write_bank(tmp_path, written)
    if written == "kick.csv":
        os.mkfifo(tmp_path / "kick.csv")
    says = "a character device" if written == "/dev/zero" else "a FIFO"
    with time_limit(10), pytest.raises(TemplateError, match=f"is not a regular file: {says}$"):
        load_bank(bank)


def test_a_bank_file_that_is_a_fifo_or_outside_its_model_folder_is_refused(tmp_path, template):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with time_limit(10), pytest.raises(FileRefused, match=f"^{fifo}: is not a regular file: a FIFO$"):
        load_bank(fifo)
    bank = write_bank(tmp_path / "elsewhere", str(template))
    model = tmp_path / "model"
    model.mkdir()
    (model / "sounds.yaml").symlink_to(bank)
    with pytest.raises(FileRefused, match="outside"):
        load_bank(model / "sounds.yaml", folder=model)
