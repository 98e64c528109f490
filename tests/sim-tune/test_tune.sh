#!/bin/sh
# locus-sim tune end to end on a slice of FB-2009 (real plugin, real LMDB
# hint stores): same seed -> same config and trials; the written file passes
# locus-alloc-config --check; the printed reproduction command gives the
# printed validation figure; a gain that cannot be reached writes nothing.
# usage: test_tune.sh LOCUS_SIM PLUGIN LOCUS_ALLOC_CONFIG TRACE
set -eu
SIM=$1 PLUGIN=$2 CHECK=$3 TRACE=$4
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

tune() { # OUT REPORT MIN_GAIN -> exit status in $rc, stdout in $d/OUT.log
    rc=0
    "$SIM" tune --trace "$TRACE" --jobs 240 --agents 40 --seed 7 --objective balanced \
        --budget 5 --max-trials 6 --threads 2 --min-gain "$3" --plugin "$PLUGIN" \
        --hints-dir "$d" --no-progress --out "$d/$1" --report "$d/$2" > "$d/$1.log" || rc=$?
}

# A negative required gain takes the best trained config whatever it gains.
tune a.conf ra -100
[ "$rc" = 0 ] || fail "tune exited $rc: $(cat "$d/a.conf.log")"
[ -s "$d/a.conf" ] || fail "a.conf not written"
grep -q '^\[' "$d/a.conf" || fail "a.conf names no section"
grep -q '(default ' "$d/a.conf" || fail "a.conf does not give the defaults"
"$CHECK" --check "$d/a.conf" || fail "locus-alloc-config --check rejects a.conf"
[ -s "$d/ra/tune.html" ] || fail "no trade-off page"
grep -q '<svg' "$d/ra/tune.html" || fail "trade-off page has no plot"

# Determinism: the same seed gives the same file and the same trials.
tune b.conf rb -100
[ "$rc" = 0 ] || fail "second tune exited $rc"
cmp "$d/a.conf" "$d/b.conf" || fail "same seed, different config"
cmp "$d/ra/trials.csv" "$d/rb/trials.csv" || fail "same seed, different trials"
[ "$(wc -l < "$d/ra/trials.csv")" -eq 8 ] || fail "expected header, default and 6 trials"

# The printed command replays the validation window with the written file
# and measures the mean JCT tune printed.
printed=$(sed -n 's/^tune: on validation: .* mean JCT \([0-9.]*\) s vs default.*/\1/p' "$d/a.conf.log")
[ -n "$printed" ] || fail "no validation figure printed"
cmd=$(grep -- '--allocator-config' "$d/a.conf.log" | sed "s|^ *locus-sim |\"$SIM\" |")
eval "$cmd --no-progress" > /dev/null || fail "reproduction command failed: $cmd"
measured=$(grep -o '"jct_all_mean_s": *[0-9.e+-]*' "$d/ra/run-tuned/report.json" | head -1 | sed 's/.*: *//')
measured=$(printf '%.3f' "$measured")
[ "$printed" = "$measured" ] || fail "tune printed mean JCT $printed s, run measured $measured s"

# A gain no config can reach: says so, exits 3, writes nothing.
tune c.conf rc 100
[ "$rc" = 3 ] || fail "expected exit 3, got $rc"
[ ! -e "$d/c.conf" ] || fail "c.conf written although no config qualified"
grep -q 'not written' "$d/c.conf.log" || fail "no 'not written' message"
echo "ok"
