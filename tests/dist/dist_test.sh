#!/bin/sh
# The shipped service files as an operator would use them:
# - systemd-analyze verify accepts the locus-probe unit, silently (skipped
#   when systemd-analyze is absent), and the unit keeps the promised
#   settings (foreground, dedicated user, state directory, umask, reload,
#   restart);
# - the unit's command line is one the built probe accepts (--check);
# - modules.json is valid JSON whose section.key parameters the allocator's
#   key table accepts (locus-alloc-config --check --set ...).
#
# usage: dist_test.sh UNIT MODULES_JSON LOCUS_PROBE LOCUS_ALLOC_CONFIG PROBE_CONF ALLOC_CONF
set -eu
unit=$1 modules=$2 probe=$3 alloc=$4 probe_conf=$5 alloc_conf=$6
work=$(mktemp -d "${TMPDIR:-/tmp}/locus-dist-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "dist_test: $*" >&2; exit 1; }

for want in '^Type=notify$' '^User=locus$' '^StateDirectory=locus$' '^UMask=0002$' \
            '^ExecReload=/bin/kill -HUP \$MAINPID$' '^Restart=on-failure$' '^ExecStart=.* --foreground '; do
  grep -q "$want" "$unit" || fail "unit lacks $want"
done

# The unit's own ExecStart, pointed at the built probe and the example config.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
installed_bin=${exec_start%% *}
args=${exec_start#* }
args=$(printf '%s' "$args" | sed "s#--config [^ ]*#--config $probe_conf#; s#--store [^ ]*#--store $work/hints#")
# shellcheck disable=SC2086
"$probe" $args --check >"$work/check" 2>&1 || { cat "$work/check"; fail "the unit's command line fails --check"; }

if command -v systemd-analyze >/dev/null 2>&1; then
  sed "s#^ExecStart=$installed_bin#ExecStart=$probe#" "$unit" >"$work/locus-probe.service"
  if ! systemd-analyze verify --man=no "$work/locus-probe.service" >"$work/verify" 2>&1 || [ -s "$work/verify" ]; then
    cat "$work/verify"
    fail "systemd-analyze verify rejects the unit"
  fi
else
  echo "dist_test: systemd-analyze not installed, unit not verified" >&2
fi

# modules.json: valid JSON (checked with python3 or jq when either is
# installed); its section.key parameters pass the allocator's check.
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$modules" || fail "modules.json is not valid JSON"
elif command -v jq >/dev/null 2>&1; then
  jq . "$modules" >/dev/null || fail "modules.json is not valid JSON"
fi
grep -q '"name": "org_locus_LocusAllocator"' "$modules" || fail "modules.json does not name the module"
for key in plugin config; do
  grep -q "\"key\": \"$key\"" "$modules" || fail "modules.json lacks the $key parameter"
done
sed -n 's/.*{ *"key": *"\([a-z_]*\.[a-z_.]*\)", *"value": *"\([^"]*\)" *}.*/--set=\1=\2/p' "$modules" >"$work/sets"
[ -s "$work/sets" ] || fail "modules.json sets no allocator key"
# shellcheck disable=SC2046
"$alloc" --check --config "$alloc_conf" $(cat "$work/sets") >"$work/acheck" 2>&1 \
  || { cat "$work/acheck"; fail "modules.json parameters rejected by the allocator"; }
echo "dist_test: ok"
