#!/bin/sh
# Installs the prebuilt Mesos 1.12 that the end-to-end Mesos test runs against.
# When ../shared/mesos/mesos-1.12.0-debian12-amd64.tar.xz sits next to the
# checkout (or LOCUS_MESOS_TARBALL names one), it is unpacked to /opt/mesos-1.12
# (LOCUS_MESOS_PREFIX) and its runtime and module-build header packages are
# installed; without it the Mesos tests are skipped and this says so. Run as root.
set -eu
cd "$(dirname "$0")/.."
tarball=${LOCUS_MESOS_TARBALL:-../shared/mesos/mesos-1.12.0-debian12-amd64.tar.xz}
prefix=${LOCUS_MESOS_PREFIX:-/opt/mesos-1.12}
if [ ! -f "$tarball" ]; then
    echo "install-mesos: $tarball not found; the Mesos module and its end-to-end test will be skipped"
    exit 0
fi
# Runtime libraries of mesos-master/mesos-agent, then the headers that Mesos's
# own headers include when the module is compiled (shared/mesos/README.md).
PACKAGES="libapr1 libaprutil1 libcurl4 libev4 libgrpc++1.51 libgrpc29 libhttp-parser2.9
libleveldb1d libprotobuf32 libre2-9 libsasl2-2 libsvn1 libunwind8 libzookeeper-mt2 libarchive13
libprotobuf-dev libboost-dev rapidjson-dev picojson-dev libcurl4-openssl-dev libapr1-dev
libsvn-dev util-linux xz-utils"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-mesos: missing packages:$missing; run as root (or: sudo $0)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
# Unpack once: a stamp holding the tarball's size and time says it is current.
stamp="$prefix/.locus-installed-from"
want="$(ls -l --time-style=+%s "$tarball" | awk '{print $5, $6}')"
if [ -x "$prefix/sbin/mesos-master" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "install-mesos: $prefix is current"
    exit 0
fi
echo "install-mesos: unpacking $tarball to $prefix"
parent=$(dirname "$prefix")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.mesos-unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xJf "$tarball"
# The tarball holds either the prefix's contents or one top folder with them.
top="$tmp"
if [ ! -d "$tmp/sbin" ] && [ "$(ls -A "$tmp" | wc -l)" = 1 ]; then
    top="$tmp/$(ls -A "$tmp")"
fi
if [ ! -x "$top/sbin/mesos-master" ]; then
    echo "install-mesos: $tarball holds no sbin/mesos-master" >&2
    exit 1
fi
rm -rf "$prefix"
mv "$top" "$prefix"
echo "$want" > "$stamp"
echo "install-mesos: Mesos installed in $prefix"
