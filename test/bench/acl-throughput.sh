#!/usr/bin/env bash
# TCP throughput between two containers on one host, through OVN, on a
# network without policy and on one with ovn.ingress=exposed (its ACLs
# put every packet through connection tracking): 100 MB through nc
# (timed around docker exec), N runs each, median MB/s.
# Usage: test/bench/acl-throughput.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-5}
BIN=${BIN:-bin/ovn-docker}
IMAGE=${IMAGE:-ovn-docker-test/busybox:latest}
NETS=(tp-plain tp-exposed)
CS=(tp-srv-plain tp-cli-plain tp-srv-exposed tp-cli-exposed)

test/env/up.sh >/dev/null
test/env/plugin.sh start "$BIN"
cleanup() {
  docker rm -f "${CS[@]}" >/dev/null 2>&1 || true
  docker network rm "${NETS[@]}" >/dev/null 2>&1 || true
  test/env/plugin.sh stop
}
trap cleanup EXIT
cleanup
test/env/plugin.sh start "$BIN"
docker network create -d openvswitch --subnet 10.230.0.0/24 tp-plain >/dev/null
docker network create -d openvswitch --subnet 10.231.0.0/24 -o ovn.ingress=exposed tp-exposed >/dev/null

# mbps NET: median MB/s of N transfers of 100 MB from a client to a server
mbps() {
  local net=$1 srv=tp-srv-$1 cli=tp-cli-$1 ip i t0 t1
  net=tp-$net
  docker run -d --name "$srv" --net "$net" --expose 5000 "$IMAGE" sh -c 'while true; do nc -l -p 5000 >/dev/null; done' >/dev/null
  docker run -d --name "$cli" --net "$net" "$IMAGE" sleep 3600 >/dev/null
  ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$srv")
  until docker exec "$cli" sh -c "echo | nc -w 1 $ip 5000" 2>/dev/null; do :; done
  for i in $(seq "$N"); do
    t0=$(date +%s%N)
    docker exec "$cli" sh -c "dd if=/dev/zero bs=1M count=100 2>/dev/null | nc -w 5 $ip 5000"
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f\n", 100 * 1e9 / ns }'
  done | sort -n | awk -v label="$1" '{ a[NR] = $1 } END { printf "%-10s n=%d  median %s MB/s  (min %s, max %s)\n", label, NR, a[int((NR + 1) / 2)], a[1], a[NR] }'
}

mbps plain
mbps exposed
