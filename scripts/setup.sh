#!/usr/bin/env bash
# Installs the few system packages Sightline needs beyond Rust on Debian/Ubuntu, only those
# missing: a C compiler (SQLite is built from source), the X11/GL runtime libraries the window
# loads at run time, and Xvfb for running the real-window test headless. No -dev packages.
set -euo pipefail
pkgs=(build-essential xvfb xauth libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all system packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
