"""Neurorack: a neural Eurorack module and the toolbox that trims its models."""

import hashlib
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

# What plays instead of each C library when it could not be built.
FALLBACKS = {"neurorack.audio.backends._native_callback": "the Python callback",
             "neurorack.core._compiled_frame": "the NumPy frame"}


class OptionalBuildExt(build_ext):
    """Build the C libraries (the audio callback, the percussion frame) where there is a C
    compiler. Without one (or when it fails) the install goes on, Python plays instead, and a
    note beside each library's place says why (neurorack.compiled_library.not_built_note reads it)."""

    def run(self):
        self.failures = {}
        super().run()
        if self.inplace:  # editable installs: the library was copied into the source tree, now the note
            for ext in self.extensions:
                _place_note(Path(self.get_ext_fullpath(ext.name)), self.failures.get(ext.name))

    def build_extension(self, ext):
        failure = None
        try:
            super().build_extension(ext)
        except (CCompilerError, ExecError, PlatformError) as exc:
            failure = str(exc)
            self.warn(f"{ext.name} was not built ({exc}); {FALLBACKS[ext.name]} will play. "
                      "Install a C compiler (sudo apt-get install gcc libc6-dev) and install neurorack again.")
        self.failures[ext.name] = failure
        _place_note(Path(self.get_ext_fullpath(ext.name)), failure)


def _place_note(library: Path, failure: str | None) -> None:
    """Write why ``library`` was not built beside its place, or remove an old note when it was."""
    note = library.with_name(library.name.split(".", 1)[0] + ".not-built")
    if failure is None:
        note.unlink(missing_ok=True)
    else:
        library.unlink(missing_ok=True)  # an older build, of what may be an older source
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(failure + "\n", encoding="utf-8")


version = {}
exec((Path(__file__).parent / "neurorack" / "__init__.py").read_text(), version)


def c_library(name: str, source: str, **options) -> Extension:
    """An optional C extension built from ``source`` and stamped with its SHA-256, which the
    package checks before loading it (neurorack.compiled_library.load)."""
    digest = hashlib.sha256((Path(__file__).parent / source).read_bytes()).hexdigest()
    return Extension(name, [source], define_macros=[("NEURORACK_SOURCE_DIGEST", f'"{digest}"')], optional=True,
                     **options)


setup(
    name="neurorack",
    version=version["__version__"],
    description="A Eurorack module that plays trimmed, descriptor-conditioned neural sound models",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="GPL-3.0-or-later",
    python_requires=">=3.10",
    # neurorack_bench: the benchmarks and their JACK test rig, beside the runtime (which never imports it)
    packages=find_packages(include=["neurorack", "neurorack.*", "neurorack_bench", "neurorack_bench.*"]),
    include_package_data=True,
    # Board files; neurorack.config.board finds them beside the package in a checkout or an
    # editable install, else in <prefix>/share/neurorack/boards.
    data_files=[("share/neurorack/boards", sorted(str(p) for p in Path("hardware/boards").glob("*.yaml")))],
    package_data={"neurorack.ui": ["menu.yaml", "fonts/*.ttf", "fonts/LICENSE"],
                  "neurorack.audio.backends": ["native_callback.c"], "neurorack.core": ["compiled_frame.c"]},
    # Plain C libraries loaded with ctypes (they hold no Python code): the audio callback
    # (native_callback.py) and the percussion model's frame (compiled_frame.py). The frame keeps
    # float32 rounding step by step as NumPy does (no fused multiply-adds) and may not set errno.
    ext_modules=[c_library("neurorack.audio.backends._native_callback", "neurorack/audio/backends/native_callback.c",
                           libraries=["pthread"]),
                 c_library("neurorack.core._compiled_frame", "neurorack/core/compiled_frame.c", libraries=["m"],
                           extra_compile_args=["-O3", "-ffp-contract=off", "-fno-math-errno"])],
    cmdclass={"build_ext": OptionalBuildExt},
    install_requires=[
        "numpy>=1.22",
        "pyyaml>=5.4",
        "sounddevice>=0.4.6",
        # The real ADC driver and OLED library also run mock mode, over simulated buses.
        "adafruit-circuitpython-mcp3xxx>=1.4",
        "luma.oled>=3.12",
        "pillow>=9",
        # The model runtime reads weights with safetensors' NumPy API (no torch on the module).
        "safetensors>=0.4",
        # One-shots at other rates (sound extract, resynth, training data) are resampled with soxr.
        "soxr>=0.3",
        # Every audio file is read and written with soundfile (its wheels carry libsndfile).
        "soundfile>=0.12",
        # Progress bars on long work (rendering, calibration, training, trimming).
        "tqdm>=4.60",
    ],
    extras_require={
        # On the module. Jetson.GPIO installs an RPi shim that collides with RPi.GPIO,
        # so each board family has its own extra.
        "pi": ["RPi.GPIO>=0.7", "adafruit-blinka>=8"],
        "pi5": ["rpi-lgpio>=0.6", "adafruit-blinka>=8"],
        "jetson": ["Jetson.GPIO>=2.1", "adafruit-blinka>=8"],
        # The toolbox: train, trim, evaluate, export. install.sh installs torch==2.13.0 first.
        # pesto-pitch (the independent pitch tracker of `neurorack eval`) is installed by
        # install.sh without its torchaudio requirement, which would pull another torch;
        # omegaconf (and tqdm, installed anyway) is what it needs besides torch, NumPy and SciPy.
        "ml": ["torch>=2.1", "matplotlib>=3.5", "scipy>=1.8", "omegaconf>=2.3"],
        # setuptools: the tests run setup.py's build step (Python 3.12's venvs come without it);
        # ruff: the linter CI runs (ruff.toml).
        "dev": ["pytest>=7", "setuptools>=64", "ruff>=0.5"],
    },
    entry_points={"console_scripts": ["neurorack = neurorack.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
        "Topic :: Multimedia :: Sound/Audio :: Sound Synthesis",
    ],
)
