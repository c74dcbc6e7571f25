#!/bin/sh
# Set up Neurorack on a fresh Debian or Raspberry Pi OS machine: system packages, a
# virtual environment in .venv, and the package in it. Safe to run again.
#
#   sh install.sh          what the module needs
#   sh install.sh --dev    also what the tests need (JACK, pytest)
set -eu
cd "$(dirname "$0")"

packages="python3-venv libportaudio2"
extras=""
if [ "${1:-}" = "--dev" ]; then
    packages="$packages jackd2"
    extras="[dev]"
fi

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
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras"
echo "neurorack is installed in .venv (try: .venv/bin/neurorack --help)"
