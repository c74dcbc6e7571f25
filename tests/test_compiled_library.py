"""setup.py's build step makes both C libraries, or leaves a note for each and still succeeds;
compiled_library.load checks what it loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from neurorack import compiled_library
from neurorack.compiled_library import CompiledLibraryUnavailable

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = {  # folder in the package: (library name, source, what plays without it)
    "audio/backends": ("_native_callback", "native_callback.c", "the Python callback"),
    "core": ("_compiled_frame", "compiled_frame.c", "the NumPy frame"),
}


def _build_ext(build_lib, env):
    """setup.py's build step, as pip runs it, with its output in ``build_lib``."""
    return subprocess.run([sys.executable, "setup.py", "build_ext", "--build-lib", str(build_lib),
                           "--build-temp", str(build_lib / "temp")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_the_build_step_compiles_both_libraries_or_leaves_notes_and_still_succeeds(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    built = _build_ext(tmp_path / "with", env)
    assert built.returncode == 0, built.stderr
    for folder, (name, source, _) in LIBRARIES.items():
        library = next((tmp_path / "with" / "neurorack" / folder).glob(f"{name}.*.so"))
        assert not compiled_library.not_built_note(library).exists()
        compiled_library.load(library, ROOT / "neurorack" / folder / source, name)  # built from this very source
    no_compiler = _build_ext(tmp_path / "without", {**env, "CC": str(tmp_path / "no-such-cc")})
    assert no_compiler.returncode == 0, no_compiler.stderr
    for folder, (name, _, fallback) in LIBRARIES.items():
        place = tmp_path / "without" / "neurorack" / folder
        assert not list(place.glob(f"{name}.*.so"))
        assert "no-such-cc" in (place / f"{name}.not-built").read_text()
        assert f"{name} was not built" in no_compiler.stderr and f"{fallback} will play" in no_compiler.stderr


def test_a_missing_library_is_explained_with_the_note_and_the_fix(tmp_path):
    library = tmp_path / "_thing.cpython-311-x86_64-linux-gnu.so"
    with pytest.raises(CompiledLibraryUnavailable, match=r"^the thing was not built at install; install a C "
                                                         r"compiler \(sudo apt-get install gcc libc6-dev\)"):
        compiled_library.load(library, tmp_path / "thing.c", "the thing")
    (tmp_path / "_thing.not-built").write_text("command 'gcc' failed\n")
    with pytest.raises(CompiledLibraryUnavailable, match=r"not built at install \(command 'gcc' failed\); install"):
        compiled_library.load(library, tmp_path / "thing.c", "the thing")
