"""Neurorack: a neural Eurorack module and the toolbox that trims its models."""

from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec((Path(__file__).parent / "neurorack" / "__init__.py").read_text(), version)

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
        # omegaconf and tqdm are what it needs besides torch, NumPy and SciPy.
        "ml": ["torch>=2.1", "safetensors>=0.4", "matplotlib>=3.5", 
               "scipy>=1.8", "omegaconf>=2.3", "tqdm>=4.60"],
        "dev": ["pytest>=7"],
    },
    entry_points={"console_scripts": ["neurorack = neurorack.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
        "Topic :: Multimedia :: Sound/Audio :: Sound Synthesis",
    ],
)
