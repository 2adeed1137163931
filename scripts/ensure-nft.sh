#!/bin/sh
# Installs Debian's nftables and iproute2 when missing: the network partition tests
# (tests/faults) cut Redis off with nft rules in a network namespace. Needs root; without
# it those tests skip (or fail under CI=true), so this only says what is missing.
set -e
command -v nft >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "nft/ip missing: the partition tests need root and 'apt-get install nftables iproute2'" >&2
  exit 0
fi
echo "installing nftables and iproute2 with apt-get" >&2
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
  nftables iproute2 >/dev/null
