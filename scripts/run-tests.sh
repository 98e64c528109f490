#!/bin/sh
# Installs the dependencies, then builds and runs the whole ctest suite twice:
# a plain build (build/) and one under AddressSanitizer + UndefinedBehaviorSanitizer
# (build-sanitize/). Tests that need Redis start their own redis-server
# processes on free loopback ports and stop them when done.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/install-mesos.sh
# The Mesos module and its end-to-end test against a real mesos-master, when
# a Mesos prefix is installed (scripts/install-mesos.sh); otherwise that test
# reports itself skipped. Only in the plain build: a sanitized module cannot
# load into an uninstrumented master.
mesos_root=${MESOS_ROOT:-/opt/mesos-1.12}
if [ -f "$mesos_root/include/mesos/version.hpp" ]; then
    mesos_flags="-DLOCUS_WITH_MESOS=ON -DMESOS_ROOT=$mesos_root"
else
    mesos_flags="-DLOCUS_WITH_MESOS=OFF"
fi
jobs="$(nproc)"
status=0
run_suite() {
    dir=$1
    shift
    echo "== $dir: configure and build"
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "== $dir: ctest"
    # --no-tests=error: a build that ran no test fails instead of passing.
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$jobs" || status=1
}
# Tests are switched on explicitly: the main job configures build/ without
# them, and a cache it left must not turn this command into one that tests nothing.
# shellcheck disable=SC2086
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCUS_BUILD_TESTS=ON $mesos_flags
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-sanitize -DCMAKE_BUILD_TYPE=Debug -DLOCUS_SANITIZE=ON -DLOCUS_WITH_MESOS=OFF -DLOCUS_BUILD_TESTS=ON -DLOCUS_BUILD_BENCH=OFF
exit $status
