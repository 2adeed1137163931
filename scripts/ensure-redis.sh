#!/bin/sh
# Installs Debian's redis-server (its binary also runs the Sentinel tests' sentinels, with
# --sentinel) and openssl (the TLS tests make their CA with it) when missing; tests and
# `make run` start their own servers.
set -e
MISSING=""
command -v redis-server >/dev/null 2>&1 || MISSING="$MISSING redis-server"
command -v openssl >/dev/null 2>&1 || MISSING="$MISSING openssl"
[ -z "$MISSING" ] && exit 0
if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "missing:$MISSING; run 'apt-get install$MISSING' as root, then retry." >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
echo "installing$MISSING with apt-get" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $MISSING >/dev/null
# The Debian package may start a system service on 6379; nothing here uses it.
