"""Load a C library that ``pip install`` built from one of the package's sources.

The package has two: the audio callback (``neurorack/audio/backends/native_callback.c``) and the
percussion model's frame (``neurorack/core/compiled_frame.c``). ``setup.py`` builds each as an
optional extension with the system's C compiler, stamps it with its source's SHA-256, and, where
the build failed, leaves a note beside the library's place saying why. Each library holds no
Python code: it is a plain C library that ctypes loads, and its users fall back to Python when
it is missing, stale or broken.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.machinery
import importlib.util
from pathlib import Path

from neurorack.errors import NeurorackError

INSTALL_COMPILER = "sudo apt-get install gcc libc6-dev"
REINSTALL = (f"install a C compiler ({INSTALL_COMPILER}) and install neurorack again "
             "(sh install.sh, or pip install .)")


class CompiledLibraryUnavailable(NeurorackError):
    """A C library was not built at install, was built from another source, or does not load."""


def installed_library(module: str, beside: Path) -> Path:
    """Where ``pip install`` put the extension ``module`` (dotted); where it would be, beside the
    file ``beside``, when it was not built."""
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin:
        return Path(spec.origin)
    return beside.with_name(module.rsplit(".", 1)[-1] + importlib.machinery.EXTENSION_SUFFIXES[0])


def not_built_note(library: Path) -> Path:
    """The note ``setup.py`` leaves where ``library`` would be when its build failed."""
    return library.with_name(library.name.split(".", 1)[0] + ".not-built")


def load(library: Path, source: Path, what: str, error: type[NeurorackError] = CompiledLibraryUnavailable
         ) -> ctypes.PyDLL:
    """``library``, loaded, after checking that it was built from ``source``.

    PyDLL: its functions run with the interpreter lock held, so a caller on the render thread
    neither gives the lock up nor waits to get it back for each call.

    Args:
        what: the library in words, for the messages ("the C callback").
        error: the exception to raise (a subclass of NeurorackError).

    Raises:
        error: it was not built at install, was built from another source, or does not load;
            the message says why and what to do.
    """
    if not library.is_file():
        note = not_built_note(library)
        why = note.read_text(encoding="utf-8").strip() if note.is_file() else ""
        raise error(f"{what} was not built at install{f' ({why})' if why else ''}; {REINSTALL}")
    try:
        loaded = ctypes.PyDLL(str(library))
        built_from = loaded.neurorack_source_digest
    except (OSError, AttributeError) as exc:
        raise error(f"{what} does not load ({exc}); {REINSTALL}") from None
    built_from.argtypes, built_from.restype = [], ctypes.c_char_p
    if source.is_file() and built_from().decode() != hashlib.sha256(source.read_bytes()).hexdigest():
        raise error(f"{what} was built from another {source.name} than this one; "
                    "install neurorack again (sh install.sh, or pip install -e .) to rebuild it")
    return loaded
