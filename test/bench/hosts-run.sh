#!/usr/bin/env bash
# Times whole `docker run --rm IMAGE true` on host1 of the multi-host bed
# (test/env/hosts.sh, 3 hosts): on a per-host openvswitch network, on a
# network shared by the 3 hosts (ovn.network) with Join's wait for every
# chassis, and on the shared one with that wait off
# (--remote-ready-timeout 0). N runs each; then each plugin call's mean
# from host1's plugin log. Usage: test/bench/hosts-run.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30}
H=test/env/hosts.sh
IMAGE=${IMAGE:-ovn-docker-test/busybox:latest}
LOG=/var/lib/ovn-hosts/host1/ovn-docker.log

$H up 3 >/dev/null
cleanup() {
  local h
  for h in host1 host2 host3; do $H exec "$h" docker network rm bench-shared >/dev/null 2>&1 || true; done
  $H exec host1 docker network rm bench-local >/dev/null 2>&1 || true
  $H plugin host1 start >/dev/null
}
trap cleanup EXIT
cleanup
$H exec host1 docker network create -d openvswitch --subnet 10.212.0.0/16 bench-local >/dev/null
for h in host1 host2 host3; do
  $H exec "$h" docker network create -d openvswitch -o ovn.network=bench-shared --subnet 10.213.0.0/16 \
    --ipam-driver openvswitch --ipam-opt ovn.network=bench-shared bench-shared >/dev/null
done

# report LABEL NET: N timed runs inside host1, then the plugin calls' means.
report() {
  local label=$1 net=$2 from
  from=$(( $(wc -l <"$LOG") + 1 ))
  $H exec host1 sh -c '
    for i in $(seq "$1"); do
      t0=$(date +%s%N); docker run --rm --net "$2" "$3" true; t1=$(date +%s%N)
      echo $(( (t1 - t0) / 1000000 ))
    done' sh "$N" "$net" "$IMAGE" | sort -n | awk -v label="$label" '{ a[NR] = $1; s += $1 } END {
    printf "%-36s n=%d  mean %4d ms  median %4d ms  p90 %4d ms\n", label, NR, s / NR, a[int((NR + 1) / 2)], a[int(NR * 0.9)] }'
  tail -n +"$from" "$LOG" | awk -f test/bench/calls.awk | sort
}

$H exec host1 docker run --rm --net=none "$IMAGE" true   # warm the image cache
report "per-host network" bench-local
report "shared by 3 hosts, wait for chassis" bench-shared
$H plugin host1 start --remote-ready-timeout 0 >/dev/null
report "shared by 3 hosts, no wait" bench-shared
