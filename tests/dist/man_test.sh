#!/bin/sh
# The generated man pages against their sources:
# - groff reads every page without a warning;
# - each config page lists exactly the keys of its program's key table;
# - every config key the docs/ tables describe exists (a key removed from the
#   code cannot stay documented);
# - the bash completion offers the program's options and keys.
#
# usage: man_test.sh MAN_DIR SOURCE_DIR LOCUS_PROBE LOCUS_SIM LOCUS_ALLOC_CONFIG
set -eu
man=$1 src=$2 probe=$3 sim=$4 alloc=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/locus-man-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "man_test: $*" >&2; exit 1; }
ref_keys() { "$@" | sed -n 's/^| `\([a-z0-9_]*\.[a-z0-9_]*\)`.*/\1/p' | sort; }
man_keys() { sed -n '/^\.TP$/{n;s/^\.B //p;}' "$1" | sort; }

for page in "$man"/*.[158]; do
  if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$page" >"$work/groff" 2>&1 || fail "groff failed on $page"
    [ ! -s "$work/groff" ] || { cat "$work/groff"; fail "groff warns about $page"; }
  fi
  grep -q '^\.SH NAME' "$page" || fail "$page has no NAME section"
done

check_conf() {
  page=$1; shift
  ref_keys "$@" >"$work/ref"
  man_keys "$man/$page" >"$work/man"
  [ -s "$work/ref" ] || fail "no keys from $*"
  diff "$work/ref" "$work/man" >"$work/diff" || { cat "$work/diff"; fail "$page differs from $*"; }
  cat "$work/man" >>"$work/all"
}
: >"$work/all"
check_conf locus-probe.conf.5 "$probe" --print-reference
check_conf locus-allocator.conf.5 "$alloc" --print-reference
check_conf locus-sim.conf.5 "$sim" config --reference

# Keys documented in docs/ tables, in the sections the programs define.
cut -d. -f1 "$work/all" | sort -u >"$work/sections"
cat "$src"/docs/*.md "$src"/README.md | sed -n 's/^| `\([a-z0-9_]*\.[a-z0-9_]*\)`.*/\1/p' | sort -u \
  | grep -F -f "$work/sections" | while read -r key; do
      case " $(cat "$work/sections" | tr '\n' ' ')" in *" ${key%%.*} "*) ;; *) continue ;; esac
      grep -qx "$key" "$work/all" || echo "$key"
    done >"$work/stale"
[ ! -s "$work/stale" ] || { cat "$work/stale"; fail "docs describe keys the programs do not have"; }

# Completion: options from --help, keys after --set.
if command -v bash >/dev/null; then
  out=$(PATH="$(dirname "$probe"):$PATH" bash -c '
    . "$1"
    COMP_WORDS=(locus-probe --fore); COMP_CWORD=1; _locus; echo "${COMPREPLY[*]}"
    COMP_WORDS=(locus-probe --set probe.log_l); COMP_CWORD=2; _locus; echo "${COMPREPLY[*]}"
  ' _ "$src/dist/bash-completion/locus")
  printf '%s\n' "$out" | grep -qx -- '--foreground' || fail "completion of --fore gave '$out'"
  printf '%s\n' "$out" | grep -qx -- 'probe.log_level=' || fail "completion of --set probe.log_l gave '$out'"
fi
echo "man_test: ok"
