#!/usr/bin/env bash
# Times whole `docker run --rm IMAGE true` on an openvswitch network, a
# routed one (-o ovn.router: no docker_gwbridge) and a bridge network,
# against --net=none (the engine's own floor), N runs each, side by side.
# Usage: test/bench/docker-run.sh [N]   (make bench runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30}
BIN=${BIN:-bin/ovn-docker}
IMAGE=${IMAGE:-ovn-docker-test/busybox:latest}

test/env/up.sh
test/env/plugin.sh start "$BIN"
LOG=/var/log/ovn-docker-demo.log
trap 'docker network rm bench-run bench-routed bench-bridge >/dev/null 2>&1; test/env/plugin.sh stop' EXIT
docker network rm bench-run bench-routed bench-bridge >/dev/null 2>&1 || true
docker network create -d openvswitch --subnet 10.210.0.0/16 bench-run >/dev/null
docker network create -d openvswitch --subnet 10.212.0.0/16 -o ovn.router=bench bench-routed >/dev/null
docker network create -d bridge --subnet 10.211.0.0/16 bench-bridge >/dev/null

# times N runs of "docker run --rm ARGS IMAGE true"; prints ms per run, sorted
times() {
  local i t0 t1
  for i in $(seq "$N"); do
    t0=$(date +%s%N)
    docker run --rm "$@" "$IMAGE" true
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000000 ))
  done | sort -n
}

report() {
  local label=$1; shift
  local all; all=$(times "$@")
  awk -v label="$label" '{ a[NR] = $1; s += $1 } END {
    printf "%-28s n=%d  mean %4d ms  median %4d ms  p90 %4d ms\n", label, NR, s / NR, a[int((NR + 1) / 2)], a[int(NR * 0.9)]
  }' <<<"$all"
}

# mean duration of each plugin call in the log lines after line $1
calls() {
  tail -n +"$1" "$LOG" | awk -f test/bench/calls.awk | sort
}

docker run --rm --net=none "$IMAGE" true   # warm the image cache
report "docker run --net=none" --net=none
report "docker run --net=bench-bridge" --net=bench-bridge
from=$(( $(wc -l < "$LOG") + 1 ))
report "docker run --net=bench-run" --net=bench-run
calls "$from"
from=$(( $(wc -l < "$LOG") + 1 ))
report "docker run --net=bench-routed" --net=bench-routed
calls "$from"
