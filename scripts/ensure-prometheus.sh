#!/bin/sh
# Installs Debian's prometheus (which ships promtool) when missing: `make test` checks the
# alert rules with promtool and runs every dashboard query against a real Prometheus.
set -e
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "prometheus is missing: run 'apt-get install prometheus' as root, then retry." >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
echo "installing prometheus with apt-get" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# --no-install-recommends: the node exporter and the web assets are not needed here.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
  --no-install-recommends prometheus >/dev/null
# The Debian package may start a system service on 9090; the tests use their own.
