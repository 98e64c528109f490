#!/bin/sh
# A local Redis Cluster on loopback to try locus-probe: 3 masters and 3
# replicas of Debian's redis-server, each announcing hostname nodeN so the
# probe sees six storage hosts.
#
#   scripts/redis-cluster.sh start DIR [FIRST_PORT]   ports FIRST_PORT..+5 (default 7000)
#   scripts/redis-cluster.sh stop DIR                 kills the servers by pid, keeps DIR
#   scripts/redis-cluster.sh load DIR DATASETS KEYS   hash-tagged keys {dsNNNNN}:NNNNNNN
#
# DIR holds one folder per node (config, log, pid file) and `seeds`, the
# value for the probe's redis.seeds key. Needs redis-server and redis-cli
# (apt-get install redis-server).
set -eu

usage() {
    echo "usage: $0 start DIR [FIRST_PORT] | stop DIR | load DIR DATASETS KEYS_PER_DATASET" >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2

stop_all() {
    for pidfile in "$dir"/*/redis.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
}

case $cmd in
start)
    first=${3:-7000}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    for pidfile in "$dir"/*/redis.pid; do
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "$0: a cluster is already running in $dir (stop it first)" >&2
            exit 1
        fi
    done
    trap 'stop_all' EXIT INT TERM
    addrs=""
    i=0
    while [ $i -lt 6 ]; do
        port=$((first + i))
        node="$dir/$port"
        mkdir -p "$node"
        rm -f "$node/nodes.conf"
        redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "$node/nodes.conf" --cluster-node-timeout 2000 \
            --repl-diskless-sync-delay 0 --save "" --appendonly no --dir "$node" \
            --cluster-announce-hostname "node$((i + 1))" --protected-mode no \
            --daemonize yes --pidfile "$node/redis.pid" --logfile "$node/redis.log"
        addrs="$addrs 127.0.0.1:$port"
        i=$((i + 1))
    done
    for a in $addrs; do
        tries=0
        until redis-cli -p "${a#*:}" ping >/dev/null 2>&1; do
            tries=$((tries + 1))
            [ $tries -lt 100 ] || { echo "$0: $a did not start (see its redis.log)" >&2; exit 1; }
            sleep 0.1
        done
    done
    # shellcheck disable=SC2086
    redis-cli --cluster create $addrs --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
        { echo "$0: cluster create failed (see $dir/create.log)" >&2; exit 1; }
    tries=0
    for a in $addrs; do
        until redis-cli -p "${a#*:}" cluster info | grep -q 'cluster_state:ok'; do
            tries=$((tries + 1))
            [ $tries -lt 300 ] || { echo "$0: cluster not ok after 30 s" >&2; exit 1; }
            sleep 0.1
        done
    done
    # replicas attach after the cluster reports ok; wait for their first sync
    tries=0
    until [ "$(for a in $addrs; do redis-cli -p "${a#*:}" info replication; done |
               grep -c 'master_link_status:up')" -ge 3 ]; do
        tries=$((tries + 1))
        [ $tries -lt 300 ] || { echo "$0: replicas not in sync after 30 s" >&2; exit 1; }
        sleep 0.1
    done
    echo "127.0.0.1:$first,127.0.0.1:$((first + 1)),127.0.0.1:$((first + 2))" >"$dir/seeds"
    trap - EXIT INT TERM
    echo "Redis Cluster up: seeds $(cat "$dir/seeds") (stop: $0 stop $dir)"
    ;;
stop)
    stop_all
    echo "stopped"
    ;;
load)
    [ $# -eq 4 ] || usage
    seed=$(cut -d, -f1 "$dir/seeds")
    n=$3
    keys=$4
    d=0
    while [ $d -lt "$n" ]; do
        ds=$(printf 'ds%05d' "$d")
        k=0
        while [ $k -lt "$keys" ]; do
            printf 'SET {%s}:%07d %s\n' "$ds" "$k" "value-of-$ds-$k"
            k=$((k + 1))
        done | redis-cli -c -h "${seed%:*}" -p "${seed#*:}" >/dev/null
        d=$((d + 1))
    done
    echo "loaded $n datasets of $keys keys"
    ;;
*)
    usage
    ;;
esac
