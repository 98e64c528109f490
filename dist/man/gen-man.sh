#!/bin/sh
# Writes the man pages of the four programs and their config files into
# OUTDIR, from the programs themselves: OPTIONS is each program's --help, and
# a config page lists the keys of its --print-reference table (the same key
# tables the parsers, docs/*.md and the example files come from).
#
# usage: gen-man.sh OUTDIR VERSION LOCUS_PROBE LOCUS_HINTS LOCUS_SIM LOCUS_ALLOC_CONFIG
set -eu
out=$1 version=$2 probe=$3 hints=$4 sim=$5 alloc=$6
mkdir -p "$out"
# No build date unless asked for (reproducible pages).
date=""
[ -z "${SOURCE_DATE_EPOCH:-}" ] || date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)

# Verbatim text as roff: escape backslashes and leading control characters.
verbatim() { awk '{ gsub(/\\/, "\\e"); if ($0 ~ /^[.\047]/) $0 = "\\&" $0; print }'; }

# A Markdown key table (| `key` | type | `default` | unit | range | meaning |)
# as .TP entries.
keys_to_roff() {
  awk -F' [|] ' '
    /^\| `/ {
      key = $1; sub(/^\| `/, "", key); sub(/`$/, "", key)
      def = $3; gsub(/`/, "", def)
      mean = $6; sub(/ \|$/, "", mean)
      line = $2 ", default " def
      if ($4 != "-") line = line ", unit " $4
      if ($2 == "choice") line = line ", one of " $5
      else if ($5 != "-" && $2 != "bool") line = line ", range " $5
      gsub(/\\/, "\\e", mean); gsub(/\\/, "\\e", line)
      printf ".TP\n.B %s\n(%s)\n%s\n", key, line, mean
    }'
}

# page NAME SECTION SUMMARY HELP_CMD... : a program's page.
program_page() {
  name=$1 section=$2 summary=$3 description=$4 extra=$5
  shift 5
  {
    printf '.TH %s %s "%s" "Locus %s" "Locus"\n' "$(echo "$name" | tr a-z A-Z)" "$section" "$date" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
    printf '.SH DESCRIPTION\n%s\n' "$description"
    printf '.SH USAGE AND OPTIONS\n.nf\n'
    "$@" --help | verbatim
    printf '.fi\n'
    printf '.SH ENVIRONMENT\n.TP\n.B LOCUS_HINT_STORE\nHint store folder. It overrides a config file'"'"'s probe.store_path or hints.path; --store and --set override it. With neither it nor --store, locus-probe and locus-hints use /var/lib/locus/hints.\n'
    printf '.SH EXIT STATUS\n0 success, 1 runtime failure (bad config file or value, store or backend error), 2 bad command line.\n'
    printf '%s' "$extra"
    printf '.SH SEE ALSO\n.BR locus-probe (8),\n.BR locus-hints (1),\n.BR locus-sim (1),\n.BR locus-alloc-config (1),\n.BR locus-probe.conf (5),\n.BR locus-allocator.conf (5),\n.BR locus-sim.conf (5)\n'
  } >"$out/$name.$section"
}

# conf_page NAME SUMMARY DESCRIPTION REFERENCE_CMD...
conf_page() {
  name=$1 summary=$2 description=$3
  shift 3
  {
    printf '.TH %s 5 "%s" "Locus %s" "Locus"\n' "$(echo "$name" | tr a-z A-Z)" "$date" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$summary"
    printf '.SH DESCRIPTION\n%s\n' "$description"
    printf '.PP\nINI format: [section] headers, key = value lines, # or ; comments on their own line or after a value. Every key is known in advance: an unknown key, a duplicate, a value out of range or of the wrong type is an error naming file:line and section.key. Sizes in bytes take K, M, G, T (powers of 1024). Any key can also be given on the command line as --set section.key=value.\n'
    printf '.SH KEYS\n'
    "$@" | keys_to_roff
    printf '.SH SEE ALSO\n.BR locus-probe (8),\n.BR locus-alloc-config (1),\n.BR locus-sim (1)\n'
  } >"$out/$name.5"
}

program_page locus-probe 8 "keep the Locus hint store up to date from storage backends" \
  "locus-probe polls storage backends (Redis Cluster, Alluxio, WebHDFS, a static file) for where the blocks of each dataset are cached, writes placement hints into the LMDB hint store read by the Locus allocator, and serves health, metrics and the placements over HTTP." \
  '.SH FILES
.TP
.I /etc/locus/locus-probe.conf
config file (see locus-probe.conf(5))
.TP
.I /var/lib/locus/hints
the hint store
.SH SIGNALS
SIGHUP re-reads the config file (a bad file is logged and the running config stays); SIGTERM and SIGINT stop cleanly.
' "$probe"
program_page locus-hints 1 "inspect and seed a Locus hint store" \
  "locus-hints reads a hint store (stats, datasets, blocks, host bindings, as JSON) next to a live probe and allocator, and writes blocks and bindings by hand from JSON lines." "" "$hints"
program_page locus-sim 1 "replay workload traces and compare allocation policies" \
  "locus-sim replays SWIM workload traces through a simulated Mesos master that loads allocator plugins through the Locus ABI, and compares drf, drf+delay and locality on the same trace and seed. COMMAND --help describes each command; run --help follows." "" "$sim"
"$sim" run --help | verbatim >"$out/.run-help"
awk -v f="$out/.run-help" '/^\.fi$/ && !done { print ""; while ((getline l < f) > 0) print l; done = 1 } { print }' \
  "$out/locus-sim.1" >"$out/.sim" && mv "$out/.sim" "$out/locus-sim.1" && rm -f "$out/.run-help"
program_page locus-alloc-config 1 "check the Locus allocator's config file and print its reference" \
  "locus-alloc-config checks an allocator config file with --set overrides the way the Mesos module loads them, and prints the reference of every key or a complete example file." "" "$alloc"

conf_page locus-probe.conf "config file of locus-probe" \
  "The config file of locus-probe(8), by default /etc/locus/locus-probe.conf: the [probe] section and one section per storage backend." \
  "$probe" --print-reference
conf_page locus-allocator.conf "config file of the Locus allocator" \
  "The config file of the Locus allocator plugin, named by the Mesos module's config parameter (by default /etc/locus/allocator.conf) or locus-sim run --allocator-config." \
  "$alloc" --print-reference
conf_page locus-sim.conf "config file of locus-sim" \
  "The model settings of locus-sim(1) run, given with --config." \
  "$sim" config --reference
