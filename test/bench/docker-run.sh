#!/usr/bin/env bash
# Times whole `docker run --rm IMAGE true` in one run on five networks:
# --net=none (the engine's own floor), a network of Docker's bridge driver,
# and three openvswitch networks: per-host, shared (ovn.network, our IPAM,
# as hosts-run.sh makes it) and routed (-o ovn.router: Join returns a
# gateway, so no docker_gwbridge). The networks take turns run by run
# (none, bridge, per-host, shared, routed, none, ...) so the machine's
# drift hits them alike. Prints per network mean, median, p90 and the
# attach overhead (median - median of none), also as a multiple of the
# bridge's; then each plugin call's mean per openvswitch network.
# Then throughput: P (20) `docker run --rm` in parallel per network,
# R rounds (the networks again in turn), with the batch's wall time,
# containers per second and the CPU the long-lived daemons spent on it.
# Usage: test/bench/docker-run.sh [N [R]]   (make bench runs it)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30}
R=${2:-3}
P=${P:-20}
BIN=${BIN:-bin/ovn-docker}
IMAGE=${IMAGE:-ovn-docker-test/busybox:latest}
LOG=/var/log/ovn-docker-demo.log

. test/bench/run-nets.sh
OVS_NETS=(per-host shared routed)

test/env/up.sh
test/env/plugin.sh start "$BIN"
TMP=$(mktemp -d)
trap 'rmnets; test/env/plugin.sh stop; rm -rf "$TMP"' EXIT
mknets

lines() { wc -l <"$LOG"; }

# one NET: one timed run; its ms go to $TMP/ms.NET, the plugin's log lines
# of the run to $TMP/log.NET
one() {
  local net=$1 t0 t1 from
  from=$(( $(lines) + 1 ))
  t0=$(date +%s%N)
  docker run --rm "${ARG[$net]}" "$IMAGE" true
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 )) >>"$TMP/ms.$net"
  sed -n "$from,\$p" "$LOG" >>"$TMP/log.$net"
}

for net in "${NETS[@]}"; do   # warm the image cache and each driver
  docker run --rm "${ARG[$net]}" "$IMAGE" true
done
for i in $(seq "$N"); do
  for net in "${NETS[@]}"; do one "$net"; done
done

# stats FILE: "mean median p90" of the ms in FILE
stats() {
  sort -n "$1" | awk '{ a[NR] = $1; s += $1 } END { printf "%d %d %d\n", s / NR, a[int((NR + 1) / 2)], a[int(NR * 0.9)] }'
}
read -r _ none_med _ < <(stats "$TMP/ms.none")
read -r _ br_med _ < <(stats "$TMP/ms.bridge")
br_over=$(( br_med - none_med ))
echo "docker run --rm NET $IMAGE true, $N runs per network, in turn:"
printf '%-9s %-22s %7s %7s %7s %9s %10s\n' network "" mean median p90 overhead "/bridge's"
for net in "${NETS[@]}"; do
  read -r mean med p90 < <(stats "$TMP/ms.$net")
  over=$(( med - none_med ))
  rel=$(awk -v o="$over" -v b="$br_over" 'BEGIN { if (b > 0 && o != 0) printf "%.2f", o / b; else print "-" }')
  printf '%-9s %-22s %4d ms %4d ms %4d ms %6d ms %10s\n' "$net" "${ARG[$net]}" "$mean" "$med" "$p90" "$over" "$rel"
done
for net in "${OVS_NETS[@]}"; do
  echo "plugin calls during the $net runs:"
  awk -f test/bench/calls.awk "$TMP/log.$net" | sort
done

# cpu: the CPU ms so far of each long-lived daemon of this host, as
# "name ms" lines (ovsdb-server: OVS's, NB's and SB's together); not the
# containers' shims and runc, which come and go
TICK=$(getconf CLK_TCK)
cpu() {
  local dockerd; dockerd=$(cat /run/ovn-docker-env/dockerd.pid 2>/dev/null || pgrep -xo dockerd)
  {
    echo "ovn-docker $(cat /run/ovn-docker/demo.pid)"
    echo "dockerd $dockerd"
    echo "containerd $(pgrep -x -P "$dockerd" containerd || pgrep -xo containerd)"
    echo "ovs-vswitchd $(cat /var/run/openvswitch/ovs-vswitchd.pid)"
    echo "ovsdb-server $(cat /var/run/openvswitch/ovsdb-server.pid /var/run/ovn/ovnnb_db.pid /var/run/ovn/ovnsb_db.pid)"
    echo "ovn-controller $(cat /var/run/ovn/ovn-controller.pid)"
    echo "ovn-northd $(cat /var/run/ovn/ovn-northd.pid)"
  } 2>/dev/null | while read -r name pids; do
    for pid in $pids; do
      awk -v n="$name" -v t="$TICK" '{ sub(/^.*\) /, ""); print n, ($12 + $13) * 1000 / t }' "/proc/$pid/stat" 2>/dev/null || true
    done
  done | awk '{ s[$1] += $2 } END { for (n in s) print n, s[n] }' | sort
}

echo
echo "throughput: $P x docker run --rm NET $IMAGE true in parallel, $R rounds, the networks in turn:"
for r in $(seq "$R"); do
  for net in "${NETS[@]}"; do
    cpu >"$TMP/cpu0"
    pids=()
    t0=$(date +%s%N)
    for _ in $(seq "$P"); do
      docker run --rm "${ARG[$net]}" "$IMAGE" true >/dev/null 2>>"$TMP/err" &
      pids+=($!)
    done
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
    t1=$(date +%s%N)
    cpu >"$TMP/cpu1"
    ms=$(( (t1 - t0) / 1000000 ))
    echo "$ms" >>"$TMP/batch.$net"
    printf 'round %d %-9s %6d ms  %5.1f containers/s  failed %d  cpu ms: %s\n' "$r" "$net" "$ms" \
      "$(awk -v p="$P" -v ms="$ms" 'BEGIN { print p * 1000 / ms }')" "$failed" \
      "$(join "$TMP/cpu0" "$TMP/cpu1" | awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $1, $3 - $2 }')"
  done
done
[ -s "$TMP/err" ] && { echo "errors of the parallel runs:"; sort "$TMP/err" | uniq -c; }
echo "per network, median batch over $R rounds:"
for net in "${NETS[@]}"; do
  read -r _ med _ < <(stats "$TMP/batch.$net")
  printf '%-9s %6d ms  %5.1f containers/s\n' "$net" "$med" "$(awk -v p="$P" -v ms="$med" 'BEGIN { print p * 1000 / ms }')"
done
