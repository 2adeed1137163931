#!/bin/sh
# Installs Debian's redis-server when it is missing; tests and `make run` start their own.
set -e
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ] && ! command -v sudo >/dev/null 2>&1; then
  echo "redis-server is missing: run 'apt-get install redis-server' as root, then retry." >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
echo "installing redis-server with apt-get" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
# The Debian package may start a system service on 6379; nothing here uses it.
