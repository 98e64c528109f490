#!/bin/sh
# The main job: install the dependencies, build Locus, and replay the shipped
# FB-2009 trace through the three policies (drf, drf+delay, locality) on an
# embedded LMDB hint store in a temporary folder, then the first hour of
# FB-2010, whose re-read inputs show the memory tier. Extra arguments go to
# both `locus-sim run`s (see `build/sim/locus-sim run --help`).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
echo "building Locus (Release) in build/ ..." >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLOCUS_BUILD_TESTS=OFF >/dev/null
# Only what the replay needs (the simulator and the allocator plugin): the
# job stays within a minute from a fresh clone. The log shows only on failure.
if ! cmake --build build -j"$(nproc)" --target locus-sim locus_allocator_plugin >build/build.log 2>&1; then
    cat build/build.log >&2
    exit 1
fi
# FB-2009 names no input paths, so nothing is read twice and the memory tier
# stays empty. The first hour of FB-2010 (1,145 jobs whose input paths repeat)
# on 600 agents shows the bytes each policy reads from memory, in seconds. It
# runs beside FB-2009's replay, whose pilot replays use one core, and its
# output is printed after FB-2009's.
fb10_out=$(mktemp)
fb10_err=$(mktemp)
trap 'rm -f "$fb10_out" "$fb10_err"' EXIT
./build/sim/locus-sim run "$@" --trace sim/traces/FB-2010_withInputPaths_hours00-11.tsv \
    --hours 1 --agents 600 --out locus-sim-report-fb2010 \
    --no-progress >"$fb10_out" 2>"$fb10_err" &
fb10_pid=$!
fb09_rc=0
./build/sim/locus-sim run "$@" || fb09_rc=$?
fb10_rc=0
wait "$fb10_pid" || fb10_rc=$?
echo >&2
echo "memory tier: FB-2010, first hour, 600 agents (report in locus-sim-report-fb2010/):" >&2
cat "$fb10_err" >&2
cat "$fb10_out"
[ "$fb09_rc" = 0 ] || exit "$fb09_rc"
exit "$fb10_rc"
