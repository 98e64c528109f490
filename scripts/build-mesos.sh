#!/bin/sh
# Builds and installs Apache Mesos (1.11 / 1.12, commit c1b42f79 tested) from a
# source tree the user provides, on current Debian/Ubuntu, with the three fixes
# a current toolchain needs (docs/mesos.md, "Building Mesos"):
#   1. 3rdparty/Makefile always unpacks the bundled ZooKeeper: an empty,
#      old-dated tarball plus a stamp in the build folder stop it;
#   2. protobuf >= 3.21 dropped util::Status::error_message(): the CSI
#      headers use ToString() instead;
#   3. Debian's glog 0.6 lacks what src/logging/logging.cpp uses: the bundled
#      glog 0.4 is built (no --with-glog).
# Usage: scripts/build-mesos.sh [--check | --configure-only] MESOS_SOURCE PREFIX [JOBS]
#   --check           only check: the source tree, which fixes it needs, and the
#                     build tools and Debian packages missing (exit 1 if any);
#                     changes nothing
#   --configure-only  apply the fixes, bootstrap and configure, then stop
# Needs the build packages listed in docs/mesos.md; takes about 50 minutes on
# two cores. The source tree is patched in place (each fix applied once).
set -eu
mode=build
case "${1:-}" in
    --check) mode=check; shift ;;
    --configure-only) mode=configure; shift ;;
esac
if [ $# -lt 2 ]; then
    echo "usage: $0 [--check | --configure-only] MESOS_SOURCE PREFIX [JOBS]" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
prefix=$2
jobs=${3:-$(nproc)}
if [ ! -f "$src/configure.ac" ] || ! grep -q 'AC_INIT(\[mesos\]' "$src/configure.ac"; then
    echo "build-mesos: $src is not a Mesos source tree (no configure.ac with AC_INIT([mesos]))" >&2
    exit 2
fi
build="$src/build"

# The Debian 12 packages a build needs (docs/mesos.md, "Getting a Mesos").
packages="build-essential autoconf automake libtool libprotobuf-dev protobuf-compiler
libgrpc++-dev protobuf-compiler-grpc libzookeeper-mt-dev libleveldb-dev libboost-dev libev-dev
libhttp-parser-dev libarchive-dev rapidjson-dev picojson-dev libre2-dev libsasl2-dev
libapr1-dev libsvn-dev libcurl4-openssl-dev zlib1g-dev libssl-dev libseccomp-dev
libconcurrentqueue-dev libnl-3-dev libnl-route-3-dev"

if [ "$mode" = check ]; then
    version=$(sed -n 's/^AC_INIT(\[mesos\], *\[\([^]]*\)\].*/\1/p' "$src/configure.ac")
    echo "build-mesos: Mesos ${version:-?} source tree at $src"
    zk=$(ls "$src"/3rdparty/zookeeper-*.tar.gz 2>/dev/null | head -n 1 || true)
    if [ -n "$zk" ] && [ -s "$zk" ]; then
        echo "  fix 1 needed: $(basename "$zk") would be unpacked (it will be emptied)"
    else
        echo "  fix 1: bundled ZooKeeper already disabled or absent"
    fi
    for h in "$src/include/mesos/csi/v0.hpp" "$src/include/mesos/csi/v1.hpp"; do
        if [ -f "$h" ] && grep -q 'error_message()' "$h"; then
            echo "  fix 2 needed: ${h#$src/} calls Status::error_message() ($(grep -c 'error_message()' "$h") place(s))"
        fi
    done
    echo "  fix 3: configure runs without --with-glog (bundled glog 0.4)"
    missing=""
    for p in $packages; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "build-mesos: missing Debian packages:$missing" >&2
        echo "  install them with: apt-get install$missing" >&2
        exit 1
    fi
    echo "build-mesos: every build package is installed"
    exit 0
fi

# Fix 1: no ZooKeeper unpacking (the system libzookeeper-mt is used).
zk=$(ls "$src"/3rdparty/zookeeper-*.tar.gz 2>/dev/null | head -n 1 || true)
zkname=$(basename "${zk:-zookeeper-3.4.8.tar.gz}" .tar.gz)
if [ -z "$zk" ] || [ -s "$src/3rdparty/$zkname.tar.gz" ]; then
    : > "$src/3rdparty/$zkname.tar.gz"
    touch -d '2000-01-01' "$src/3rdparty/$zkname.tar.gz"
fi
mkdir -p "$build/3rdparty"
touch "$build/3rdparty/$zkname-stamp"

# Fix 2: protobuf 3.21 Status API.
for h in "$src/include/mesos/csi/v0.hpp" "$src/include/mesos/csi/v1.hpp"; do
    if [ -f "$h" ] && grep -q 'error_message()' "$h"; then
        sed -i 's/error_message()/ToString()/g' "$h"
    fi
done

# Fix 3 is a configure choice: no --with-glog below.
if [ ! -x "$src/configure" ]; then
    (cd "$src" && ./bootstrap)
fi
cd "$build"
if [ ! -f Makefile ]; then
    ../configure --prefix="$prefix" --disable-java --disable-python --disable-werror \
        --enable-install-module-dependencies --with-protobuf=/usr --with-grpc=/usr \
        --with-zookeeper=/usr --with-leveldb=/usr --with-boost=/usr --with-libev=/usr \
        --with-http-parser=/usr --with-libarchive=/usr --with-rapidjson=/usr \
        --with-picojson=/usr --with-re2=/usr CXXFLAGS="-O1 -g0" CFLAGS="-O1 -g0"
fi
if [ "$mode" = configure ]; then
    echo "build-mesos: configured in $build; run make -j$jobs && make install there"
    exit 0
fi
make -j"$jobs"
make install
echo "build-mesos: installed in $prefix; build the module with" \
     "-DLOCUS_WITH_MESOS=ON -DMESOS_ROOT=$prefix"
