#!/bin/sh
# Installs the build into a fresh prefix and uses it the way an outside
# project and an operator would: compiles the consumer with find_package(Locus)
# and with pkg-config, runs it (hint store API + plugin loader), and runs the
# installed programs with no LD_LIBRARY_PATH, after moving the prefix, to show
# they find their library through RPATH $ORIGIN/../lib and the plugin inside
# the prefix. Also checks the library exports only its public API.
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR C_COMPILER [EXTRA_CFLAGS]
set -eu
build=$1 src=$2 cc=$3 extra=${4:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/locus-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }
unset LD_LIBRARY_PATH LOCUS_HINT_STORE

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install failed"; }
libdir=$(cd "$prefix" && ls -d lib*/liblocus-hints.so | head -n1 | xargs dirname)
[ -n "$libdir" ] || fail "no liblocus-hints.so under $prefix"

# The library exports the public API and nothing internal.
nm -D --defined-only "$prefix/$libdir/liblocus-hints.so" | awk '{print $3}' >"$work/symbols"
grep -qx 'locus_strerror@@LOCUS_0' "$work/symbols" || fail "locus_strerror not exported"
grep -qx 'locus_allocator_load@@LOCUS_0' "$work/symbols" || fail "locus_allocator_load not exported"
grep -qx 'locus_hs_open@@LOCUS_0' "$work/symbols" || fail "locus_hs_open not exported"
if grep -E '^(hs_|locus__|locus_cfg_|la_)' "$work/symbols"; then fail "internal symbols exported"; fi

# Every installed header compiles on its own.
for h in "$prefix"/include/locus/*.h; do
  printf '#include <locus/%s>\nint main(void){return 0;}\n' "$(basename "$h")" >"$work/h.c"
  $cc -std=c11 -Wall -Wextra -Werror $extra -I"$prefix/include" -c "$work/h.c" -o "$work/h.o" \
    || fail "installed header $(basename "$h") does not compile alone"
done

# find_package(Locus) from an outside CMake project.
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$extra" -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer.log" 2>&1 \
  || { cat "$work/consumer.log"; fail "find_package(Locus) failed"; }
cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; fail "consumer build failed"; }
"$work/consumer/consumer" "$work/store1" "$prefix" || fail "consumer (find_package) failed"

# pkg-config, with the prefix moved elsewhere: locus.pc and the RPATHs are
# relative, so nothing points back at the old place.
mv "$prefix" "$work/moved"
prefix=$work/moved
if command -v pkg-config >/dev/null; then
  flags=$(PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config --cflags --libs locus) \
    || fail "pkg-config locus failed"
  case $flags in *"$prefix"*) ;; *) fail "pkg-config flags '$flags' do not name the moved prefix" ;; esac
  $cc -std=c11 $extra "$src/tests/install/consumer/consumer.c" $flags \
    -Wl,-rpath,"$prefix/$libdir" -o "$work/consumer-pc" || fail "pkg-config build failed"
  "$work/consumer-pc" "$work/store2" "$prefix" || fail "consumer (pkg-config) failed"
fi

# Installed programs run from the moved prefix without LD_LIBRARY_PATH.
for p in locus-hints locus-probe locus-sim locus-alloc-config; do
  [ -x "$prefix/bin/$p" ] || continue
  "$prefix/bin/$p" --version >"$work/v" 2>&1 || { cat "$work/v"; fail "$p --version failed"; }
  readelf -d "$prefix/bin/$p" | grep -q 'R.*PATH.*\$ORIGIN/\.\./' || fail "$p has no \$ORIGIN RPATH"
  if ldd "$prefix/bin/$p" | grep -q "$build"; then fail "$p resolves a library in the build tree"; fi
done
# An installed locus-sim defaults to its own prefix's trace and plugin, never
# the source tree's or the build tree's (both still exist here).
if [ -x "$prefix/bin/locus-sim" ]; then
  "$prefix/bin/locus-sim" run --help >"$work/simhelp" 2>&1 || { cat "$work/simhelp"; fail "installed locus-sim run --help failed"; }
  grep -q "$prefix/share/locus/traces/" "$work/simhelp" || { cat "$work/simhelp"; fail "installed locus-sim does not default to its prefix's trace"; }
  grep -q "$prefix/$libdir/locus/locus-allocator.so" "$work/simhelp" || { cat "$work/simhelp"; fail "installed locus-sim does not default to its prefix's plugin"; }
  if grep -e "$src/" -e "$build/" "$work/simhelp"; then fail "installed locus-sim defaults to a path in the source or build tree"; fi
fi
"$prefix/bin/locus-hints" --store "$work/store2" stats >"$work/stats" || fail "installed locus-hints stats failed"
# Man pages and completion are in place; `man locus-probe` finds its page.
for page in man8/locus-probe.8 man1/locus-hints.1 man1/locus-sim.1 man1/locus-alloc-config.1 \
            man5/locus-probe.conf.5 man5/locus-allocator.conf.5 man5/locus-sim.conf.5; do
  [ -s "$prefix/share/man/$page" ] || fail "man page $page not installed"
done
if command -v man >/dev/null; then
  MANPATH="$prefix/share/man" man -w locus-probe | grep -q "$prefix/share/man/man8/locus-probe.8" \
    || fail "man locus-probe does not find the installed page"
fi
[ -s "$prefix/share/bash-completion/completions/locus-probe" ] || fail "bash completion not installed"
echo "install_test: ok"
