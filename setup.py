"""Neurorack: a neural Eurorack module and the toolbox that trims its models."""

import hashlib
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

# Written beside the library, in its place, when it could not be built; the module reads it to
# say why the Python callback plays (neurorack.audio.backends.native_callback.NOT_BUILT_NOTE).
NOT_BUILT_NOTE = "_native_callback.not-built"


class OptionalBuildExt(build_ext):
    """Build the C audio callback where there is a C compiler. Without one (or when it fails) the
    install goes on, the Python callback plays, and a note beside the library's place says why."""

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
            self.warn(f"the C audio callback was not built ({exc}); the Python callback will play. "
                      "Install a C compiler (sudo apt-get install gcc libc6-dev) and install neurorack again.")
        self.failures[ext.name] = failure
        _place_note(Path(self.get_ext_fullpath(ext.name)), failure)


def _place_note(library: Path, failure: str | None) -> None:
    """Write why ``library`` was not built beside its place, or remove an old note when it was."""
    note = library.with_name(NOT_BUILT_NOTE)
    if failure is None:
        note.unlink(missing_ok=True)
    else:
        library.unlink(missing_ok=True)  # an older build, of what may be an older source
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(failure + "\n", encoding="utf-8")


version = {}
exec((Path(__file__).parent / "neurorack" / "__init__.py").read_text(), version)
callback_source = "neurorack/audio/backends/native_callback.c"
callback_digest = hashlib.sha256((Path(__file__).parent / callback_source).read_bytes()).hexdigest()

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
                  "neurorack.audio.backends": ["native_callback.c"]},
    # The audio callback in C, loaded with ctypes (it holds no Python code; see native_callback.py).
    ext_modules=[Extension("neurorack.audio.backends._native_callback", [callback_source], libraries=["pthread"],
                           define_macros=[("NEURORACK_SOURCE_DIGEST", f'"{callback_digest}"')], optional=True)],
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
