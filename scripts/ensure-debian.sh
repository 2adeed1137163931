#!/bin/sh
# Installs the Debian packages that provide missing commands, with apt-get (sudo when not
# root). Every test dependency from Debian goes through here, so the lock wait, the quiet
# flags and the "what to run by hand" message are the same for all of them.
#
#   sh scripts/ensure-debian.sh [--optional] [--no-recommends] COMMAND=PACKAGE ...
#
# --optional: without root (and sudo), say what is missing and succeed: the tests that need
# it fail under CI=true with their own message. --no-recommends: skip recommended packages.
set -e
OPTIONAL=""; APT_OPTS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --optional) OPTIONAL=1 ;;
    --no-recommends) APT_OPTS="--no-install-recommends" ;;
    *) break ;;
  esac
  shift
done
MISSING=""
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 && continue
  case " $MISSING " in *" ${pair#*=} "*) ;; *) MISSING="$MISSING ${pair#*=}" ;; esac
done
[ -z "$MISSING" ] && exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "missing:$MISSING; run 'apt-get install$MISSING' as root, then retry." >&2
    [ -n "$OPTIONAL" ] && exit 0
    exit 1
  fi
  SUDO="sudo"
fi
echo "installing$MISSING with apt-get" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
  $APT_OPTS $MISSING >/dev/null
# Packages such as redis-server and prometheus may start a system service on their default
# port; nothing here uses it (tests and `make run` start their own on free ports).
