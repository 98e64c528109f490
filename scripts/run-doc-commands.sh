#!/bin/bash
# Runs the ```sh command blocks of README.md and docs/*.md as a reader would,
# each in a fresh scratch folder that holds the source tree (read through
# symlinks) and `build` pointing at a built tree, and reports which passed.
# A block's own lines configuring or building `build` are left out (the given
# build stands for them). Blocks that need root, systemd, a Mesos installation or
# package installs are listed as skipped with the reason; blocks replaying a
# whole trace (minutes each) run only with --slow. Exit status: 0 when every
# block run passed.
#
# usage: scripts/run-doc-commands.sh [--slow] [--list] [BUILD_DIR]   (default: build)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
slow=0 list=0 build=
for a in "$@"; do
  case $a in
    --slow) slow=1 ;;
    --list) list=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run-doc-commands: unknown option '$a'" >&2; exit 2 ;;
    *) build=$a ;;
  esac
done
build=$(cd "${build:-$root/build}" 2>/dev/null && pwd) || { echo "run-doc-commands: no build folder (build it first)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/locus-doccmd-XXXXXX")
trap 'rm -rf "$work"' EXIT

# Why a block is not run, or "" to run it.
skip_reason() {
  case $1 in
    *sudo*|*systemctl*|*journalctl*) echo "needs root and systemd"; return ;;
    *mesos-master*|*mesos-agent*|*install-mesos*|*LOCUS_WITH_MESOS*) echo "needs a Mesos installation"; return ;;
    *apt-get*|*install-deps*) echo "installs packages"; return ;;
    *run-main-job.sh*|*run-tests.sh*) echo "builds and tests the whole tree (minutes)"; return ;;
  esac
  if [ $slow = 0 ]; then
    case $1 in
      *"locus-sim run"*|*"locus-sim convert"*) echo "replays or converts a whole trace (minutes; --slow runs it)"; return ;;
      *max_total_time*) echo "fuzzes for minutes (--slow runs it)"; return ;;
    esac
  fi
  # A daemon started in the foreground, not with &, never returns.
  if printf '%s\n' "$1" | grep -q -- '--foreground' &&
     ! printf '%s\n' "$1" | grep -q '&[[:space:]]*\(#.*\)\{0,1\}$'; then
    echo "starts a daemon in the foreground (runs until stopped)"
  fi
}

pass=0 fail=0 skipped=0
for doc in "$root/README.md" "$root"/docs/*.md; do
  rel=${doc#"$root"/}
  # Blocks as files: block N of doc starts at line L.
  awk -v dir="$work/blocks" -v rel="$rel" '
    BEGIN { system("mkdir -p " dir) }
    /^```sh[ \t]*$/ { inb = 1; n++; f = dir "/" gsub_name(rel) "." n; printf "" > f; print NR > (f ".line"); next }
    /^```/ && inb { inb = 0; close(f); next }
    inb { print > f }
    function gsub_name(s) { gsub(/\//, "_", s); return s }
  ' "$doc"
done
for block in $(ls "$work/blocks"/*.[0-9]* 2>/dev/null | grep -v '\.line$' | sort -t. -k1,1 -k3n); do
  name=$(basename "$block")
  line=$(cat "$block.line")
  label="${name%.*}"
  label="${label//_//}:$line"
  why=$(skip_reason "$(cat "$block")")
  if [ -n "$why" ]; then
    printf 'skip  %-32s %s\n' "$label" "$why"; skipped=$((skipped + 1)); continue
  fi
  [ $list = 1 ] && { printf 'run   %s\n' "$label"; continue; }
  scratch=$work/run-$name
  mkdir -p "$scratch"
  for e in "$root"/*; do
    [ "$(basename "$e")" = build ] || ln -s "$e" "$scratch/$(basename "$e")"
  done
  ln -s "$build" "$scratch/build"
  # Leave out the block's own configuring or building of build/ (with its
  # continuation lines): the given build stands for it.
  awk '/^cmake (-S \. -B build|--build build)( |$)/ { skip = 1 }
       { if (!skip) print; if (skip && !/\\$/) skip = 0 }' "$block" >"$scratch.sh"
  # Its own session, so whatever it left in the background (a probe started
  # with &) is stopped with it, by its process group.
  (cd "$scratch" && exec setsid timeout 300 bash -e "$scratch.sh") >"$scratch.log" 2>&1 &
  pid=$!
  if wait $pid; then
    printf 'pass  %s\n' "$label"; pass=$((pass + 1))
  else
    printf 'FAIL  %s\n' "$label"; sed 's/^/      | /' "$scratch.log" | tail -n 15; fail=$((fail + 1))
  fi
  kill -- -$pid 2>/dev/null || true
done
echo "run-doc-commands: $pass passed, $fail failed, $skipped skipped"
[ $fail = 0 ]
