#!/bin/sh
# locus-sim replay speed: the first 12 hours of FB-2010 (13,483 jobs) on 3,000
# agents under drf, drf+delay, locality and optimal in one run on two threads
# (target: under 2 minutes and 4 GiB), and the README's main job (FB-2009,
# defaults). Baseline, measured in the same run: the same FB-2010 replay under
# drf alone on one thread.
# Usage: run_bench.sh LOCUS_SIM PLUGIN TRACE_DIR
set -eu
sim=$1
plugin=$2
traces=$3
fb10=$traces/FB-2010_withInputPaths_hours00-11.tsv
# Defaults: the factor calibrated to 25% offered load by pilot replays of a
# sample, rates recomputed once per allocation interval (docs/simulator.md,
# Speed). Extra settings for both FB-2010 runs can come in LOCUS_SIM_BENCH_OPTS.
fb10_opts=${LOCUS_SIM_BENCH_OPTS:-}
fb09=$traces/FB-2009_samples_24_times_1hr_0.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# Hint stores on tmpfs when there is one: the bench measures the simulator, not the disk.
hints=/dev/shm
[ -d "$hints" ] && [ -w "$hints" ] || hints=$work

calc() { awk "BEGIN { print $1 }"; }

run() { # name, then locus-sim run arguments
    name=$1
    shift
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f "%e %U %S %M" -o "$work/$name.time" \
            "$sim" run --plugin "$plugin" --no-html --no-progress --hints-dir "$hints" \
            --out "$work/$name" "$@" > "$work/$name.txt"
    else # no GNU time (Debian package `time`): wall clock only, CPU reported as wall
        t0=$(date +%s.%N)
        "$sim" run --plugin "$plugin" --no-html --no-progress --hints-dir "$hints" \
            --out "$work/$name" "$@" > "$work/$name.txt"
        echo "$(calc "$(date +%s.%N) - $t0") $(calc "$(date +%s.%N) - $t0") 0 0" > "$work/$name.time"
    fi
    set -- $(cat "$work/$name.time")
    wall=$1 cpu=$(calc "$2 + $3") rss_mb=$(calc "int($4 / 1024)")
    events=$(grep -E '^  events  ' "$work/$name.txt" | tr -s ' ' | cut -d' ' -f3- | tr -d ',')
    total=0
    for e in $events; do total=$((total + e)); done
    eps=$(calc "int($total / $cpu)")
    printf '%-28s wall %7.1f s  cpu %7.1f s  peak RSS %6d MiB  events %9d  events/cpu-s %8d\n' \
        "$name" "$wall" "$cpu" "$rss_mb" "$total" "$eps"
    eval "${name}_wall=$wall ${name}_cpu=$cpu ${name}_rss=$rss_mb"
}

echo "locus-sim replay benchmark ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
run baseline_drf_1thread --trace "$fb10" --agents 3000 $fb10_opts --policies drf --threads 1
run fb2010_4policies --trace "$fb10" --agents 3000 $fb10_opts \
    --policies drf,drf+delay,locality,optimal --threads 2
run fb2009_main_job --trace "$fb09"
echo
printf 'FB-2010 4 policies: wall %.1f s (target 120 s: %.2fx of it), peak RSS %d MiB (target 4096 MiB)\n' \
    "$fb2010_4policies_wall" "$(calc "$fb2010_4policies_wall / 120")" "$fb2010_4policies_rss"
printf 'FB-2010 4 policies vs drf alone: %.2fx wall, %.2fx cpu\n' \
    "$(calc "$fb2010_4policies_wall / $baseline_drf_1thread_wall")" \
    "$(calc "$fb2010_4policies_cpu / $baseline_drf_1thread_cpu")"
# Each policy's replay CPU and its ratio to drf's in the same run.
grep -E '^  (replay CPU time|replay CPU vs first policy|allocator CPU per cycle, mean)  ' \
    "$work/fb2010_4policies.txt"
printf 'FB-2009 main job: wall %.1f s, %.2fx the drf-alone FB-2010 baseline\n' \
    "$fb2009_main_job_wall" "$(calc "$fb2009_main_job_wall / $baseline_drf_1thread_wall")"
sed -n '/^Map tasks by/,/^Cluster/p' "$work/fb2010_4policies.txt"
