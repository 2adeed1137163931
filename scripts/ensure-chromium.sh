#!/bin/sh
# Installs Debian's chromium and chromium-driver when missing; the dashboard's browser tests drive them.
set -e
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "chromium is missing: run 'apt-get install chromium chromium-driver' as root, then retry." >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
echo "installing chromium and chromium-driver with apt-get" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
  chromium chromium-driver >/dev/null
