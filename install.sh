#!/bin/sh
# Set up Neurorack on a fresh Debian or Raspberry Pi OS machine: system packages, a
# virtual environment in .venv, and the package in it. Safe to run again.
#
#   sh install.sh          the module (the daemon, mock mode included)
#   sh install.sh --ml     also the toolbox: train, trim, evaluate, export (PyTorch)
#   sh install.sh --dev    the toolbox and what the tests need (JACK, systemd-analyze, pytest)
set -eu
cd "$(dirname "$0")"

# gcc and libc6-dev: pip builds the audio callback in C (setup.py), which never waits for
# Python's interpreter lock, and the model's frame in C; without them Python plays both.
packages="python3-venv libportaudio2 gcc libc6-dev"
extras=""
torch=""
case "${1:-}" in
    --ml) extras="[ml]"; torch="yes" ;;
    --dev) packages="$packages jackd2 systemd util-linux strace"; extras="[ml,dev]"; torch="yes" ;;
    "") ;;
    *) echo "usage: sh install.sh [--ml|--dev]" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "installing system packages:$missing"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
pip=".venv/bin/python -m pip --disable-pip-version-check"
# PyTorch first and pinned, so that nothing below resolves another (CUDA) build.
[ -z "$torch" ] || $pip install --quiet torch==2.13.0
$pip install --quiet -e ".$extras"
# The toolbox's independent pitch tracker, without its torchaudio requirement (see setup.py).
[ -z "$torch" ] || $pip install --quiet --no-deps pesto-pitch==2.0.1
# Which audio callback and model frame the install plays: native or compiled (C), or Python and why.
.venv/bin/python -m neurorack.audio.backends.native_callback
.venv/bin/python -m neurorack.core.compiled_frame
# The package's bytecode (pip compiled the dependencies'): the service runs on a read-only
# root, so it could never write it and would compile every module at each start.
.venv/bin/python -m compileall -q neurorack
echo "neurorack is installed in .venv (try: .venv/bin/neurorack --help)"
