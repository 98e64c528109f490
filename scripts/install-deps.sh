#!/bin/sh
# Installs what Locus needs to build, test and run on Debian 12 (run as root).
# Skips apt entirely when everything is already installed.
set -eu
PACKAGES="build-essential cmake pkg-config libevent-dev libprotobuf-c-dev protobuf-c-compiler
libhiredis-dev liblmdb-dev lmdb-utils libjansson-dev libcurl4-openssl-dev libcmocka-dev
redis-server redis-tools gnuplot-nox openssl"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing; run as root (or: sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
