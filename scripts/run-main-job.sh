#!/bin/sh
# The main job: install the dependencies, build Locus, and replay the shipped
# FB-2009 trace through the three policies (drf, drf+delay, locality) on an
# embedded LMDB hint store in a temporary folder. Extra arguments go to
# `locus-sim run` (see `build/sim/locus-sim run --help`).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
echo "building Locus (Release) in build/ ..." >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLOCUS_BUILD_TESTS=OFF >/dev/null
# The build log is shown only when the build fails.
if ! cmake --build build -j"$(nproc)" >build/build.log 2>&1; then
    cat build/build.log >&2
    exit 1
fi
exec ./build/sim/locus-sim run "$@"
