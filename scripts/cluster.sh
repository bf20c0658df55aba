#!/usr/bin/env bash
# Start or stop the test cluster by hand: one standalone ZooKeeper and three clickhouse-server
# 18.16 nodes on 127.0.0.1 with free ports, in folders under DIR — clusters two_shards
# (n1 | n2) and two_replicas (n1 + n3), internal_replication on every shard, macros {shard}
# and {replica}, distributed DDL. The tests start the same cluster themselves
# (engine/enginetest.StartCluster); this script runs it in the background for a person.
#
#   scripts/cluster.sh start DIR    # prints each node's DSN; DIR/cluster.env keeps them
#   scripts/cluster.sh stop DIR     # servers first, then ZooKeeper
#   scripts/cluster.sh status DIR
#
# Needs Debian's zookeeper, clickhouse-server and clickhouse-client (and Java).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
pidfile=$dir/cluster.pid

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case $cmd in
start)
  if running; then echo "cluster: already running in $dir (pid $(cat "$pidfile"))" >&2; exit 1; fi
  rm -f "$dir/cluster.env"
  go build -o "$dir/hourglass-cluster" ./scripts/cluster
  setsid nohup "$dir/hourglass-cluster" "$dir" >"$dir/cluster.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 600); do
    if [ -f "$dir/cluster.env" ]; then cat "$dir/cluster.env"; exit 0; fi
    if ! running; then echo "cluster: failed to start:" >&2; cat "$dir/cluster.log" >&2; rm -f "$pidfile"; exit 1; fi
    sleep 0.1
  done
  echo "cluster: not ready after 60s; see $dir/cluster.log" >&2
  exit 1
  ;;
stop)
  if ! running; then echo "cluster: not running in $dir"; rm -f "$pidfile"; exit 0; fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "cluster: stopped"; exit 0; }
    sleep 0.1
  done
  echo "cluster: pid $pid still running after 30s" >&2
  exit 1
  ;;
status)
  if running; then echo "cluster: running (pid $(cat "$pidfile"))"; cat "$dir/cluster.env" 2>/dev/null || true; else echo "cluster: not running"; exit 1; fi
  ;;
*) usage ;;
esac
