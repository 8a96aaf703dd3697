#!/usr/bin/env bash
# What one IPAM address claim costs on the chassis that did not make it
# (issue 16, "fan-out to chassis"). Claims live in NB Address_Set rows,
# as keys of external_ids since issue 16 (pools made before keep them in
# addresses, which ovn-northd copies to the SB, where every ovn-controller
# follows every Address_Set). On the 3-host bed
# (test/env/hosts.sh) this makes N claims the way Docker makes them:
# RequestPool once, then N RequestAddress POSTs on host1's plugin socket
# (test/bench/fanout.go), releases them (N ReleaseAddress), and for scale
# does the same with N CreateEndpoint and DeleteEndpoint on a network shared
# by the 3 hosts (PORTS=0 skips that). For each phase it reports, per call:
#   - the bytes a Southbound monitor of every table and column receives
#     (fanout sbmon: monitor_cond_since like ovn-controller's, bytes counted
#     as read from the SB socket; ovn-controller's own monitor is a subset
#     that takes every Address_Set row and column, so for claims the same);
#   - CPU (utime+stime from /proc/PID/stat) of ovn-controller on host1,
#     host2 and host3, ovn-northd, the NB and SB ovsdb-servers and host1's
#     ovn-docker, minus an idle window of the same wall time taken right
#     after the phase;
#   - which incremental-processing nodes of ovn-northd and of host2's and
#     host3's ovn-controller recomputed and which computed incrementally
#     (inc-engine/show-stats, differenced).
# ALT=1 adds, for comparison, N claims and releases made straight in NB
# (fanout.go nbset/nbunset: the driver's transaction shape, in unmarked
# rows of 256), once in Address_Set.addresses, as legacy pools keep them,
# and once as keys of Address_Set.external_ids, as the driver keeps them
# now, which northd does not copy to the Southbound database.
# Calls follow each other at once, so ovn-northd may batch several into
# one SB transaction; PACE=20ms spaces them out as containers started one
# after another would, so that each reaches the chassis on its own.
# Usage: [PACE=DURATION] test/bench/claims-fanout.sh [N]   (N calls per phase, 1000)
# Run it under the bed's lock like any use of it:
#   flock -o /tmp/e2e.lock test/bench/claims-fanout.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000}
H=test/env/hosts.sh
CENTRAL=/var/lib/ovn-hosts/central
SOCK=/run/docker/plugins/openvswitch.sock      # host1's plugin, inside host1
IMAGE=${IMAGE:-ovn-docker-test/busybox:latest}
TAIL=${TAIL:-3}         # seconds after a phase's last call for the chassis to catch up
PORTS=${PORTS:-1}
PACE=${PACE:-}          # pause between calls (fanout.go FANOUT_PACE)
ALT=${ALT:-0}
POOL=ovnlocal/10.215.0.0/16                    # the claims' pool, host1's own
NET_SUBNET=10.216.0.0/16                       # the shared network of the port phases
EP_FIRST=10.216.100.1/16                       # endpoints' addresses, clear of the pool's
GO=${GO:-go}
command -v "$GO" >/dev/null || GO=/usr/local/go/bin/go
HZ=$(getconf CLK_TCK)

$H up 3 >/dev/null
work=$(mktemp -d /tmp/fanout.XXXXXX)           # /tmp is the same inside the hosts
"$GO" build -o "$work/fanout" test/bench/fanout.go
fan1() { $H exec host1 env FANOUT_PACE="$PACE" "$work/fanout" "$1" "$SOCK" "${@:2}"; }
fannb() { FANOUT_PACE="$PACE" "$work/fanout" "$1" "$CENTRAL/ovnnb_db.sock" "${@:2}"; }

mon=
cleanup() {
  local h
  [ -z "$mon" ] || { kill "$mon" 2>/dev/null; wait "$mon" 2>/dev/null || true; }
  fannb nbdrop fanout_alt_a "$N" 2>/dev/null || true
  fannb nbdrop fanout_alt_e "$N" 2>/dev/null || true
  fan1 call IpamDriver.ReleasePool "{\"PoolID\":\"$POOL\"}" >/dev/null 2>&1 || true
  for h in host2 host3; do $H exec "$h" docker rm -f fanout-anchor >/dev/null 2>&1 || true; done
  # Docker's DeleteNetwork takes the switch and the endpoints made behind
  # Docker's back with it.
  for h in host1 host2 host3; do $H exec "$h" docker network rm fanout >/dev/null 2>&1 || true; done
  $H plugin host1 start >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# Reconciliation would release claims and remove endpoints that no
# container holds (after --orphan-grace): keep it away for the run.
$H plugin host1 start --reconcile-interval 1h >/dev/null
fan1 call IpamDriver.ReleasePool "{\"PoolID\":\"$POOL\"}" >/dev/null 2>&1 || true   # a run cut short

# The port phases need a network whose datapath is local on host2 and
# host3 too, as a shared network's is once they run a container on it;
# the claims run with the same bed so their numbers compare.
if [ "$PORTS" = 1 ]; then
  for h in host1 host2 host3; do
    $H exec "$h" docker network rm fanout >/dev/null 2>&1 || true
    $H exec "$h" docker network create -d openvswitch -o ovn.network=fanout --subnet "$NET_SUBNET" \
      --ipam-driver openvswitch --ipam-opt ovn.network=fanout fanout >/dev/null
  done
  for h in host2 host3; do
    $H exec "$h" docker rm -f fanout-anchor >/dev/null 2>&1 || true
    $H exec "$h" docker run -d --name fanout-anchor --net fanout "$IMAGE" sleep 3600 >/dev/null
  done
  NETID=$($H exec host1 docker network inspect -f '{{.Id}}' fanout)
fi

# The processes measured, as NAME PID.
procs() {
  local h
  for h in host1 host2 host3; do echo "ctl-$h $($H exec "$h" cat /run/ovn/ovn-controller.pid)"; done
  echo "northd $(cat "$CENTRAL/northd.pid")"
  echo "nb $(cat "$CENTRAL/nb.pid")"
  echo "sb $(cat "$CENTRAL/sb.pid")"
  echo "plugin $(cat /var/lib/ovn-hosts/host1/ovn-docker.pid)"
}
procs >"$work/procs"

# usage: NAME CPU_MS for every process, from /proc. (Not /proc/PID/io:
# OVS reads its sockets with recv(), which rchar does not count.)
usage() {
  local name pid s
  while read -r name pid; do
    s=$(<"/proc/$pid/stat"); s=${s##*) }
    set -- $s                                    # ${12} utime, ${13} stime (fields 14, 15)
    echo "$name $(( (${12} + ${13}) * 1000 / HZ ))"
  done <"$work/procs"
}

# stats: NODE RECOMPUTE COMPUTE for every engine node of ovn-northd
# (prefixed northd:) and of host2's and host3's ovn-controller.
stats() {
  { ovn-appctl -t "$CENTRAL/northd.ctl" inc-engine/show-stats | sed 's/^Node: /Node: northd:/'
    $H exec host2 ovn-appctl -t ovn-controller inc-engine/show-stats | sed 's/^Node: /Node: host2:/'
    $H exec host3 ovn-appctl -t ovn-controller inc-engine/show-stats | sed 's/^Node: /Node: host3:/'
  } | awk '/^Node:/ { n = $2 } /- recompute:/ { r = $3 } /- compute:/ { print n, r, $3 }'
}

# The Southbound monitor: one line per SIGUSR1, for what came since.
"$work/fanout" sbmon "$CENTRAL/ovnsb_db.sock" >"$work/sbmon" 2>&1 &
mon=$!
for _ in $(seq 100); do grep -q '^ready' "$work/sbmon" && break; sleep 0.1; done
grep -q '^ready' "$work/sbmon" || { cat "$work/sbmon"; exit 1; }
mark() {
  local want=$(( $(wc -l <"$work/sbmon") + 1 ))
  kill -USR1 "$mon"
  while [ "$(wc -l <"$work/sbmon")" -lt "$want" ]; do sleep 0.05; done
  tail -n 1 "$work/sbmon"
}

# phase NAME CMD...: runs CMD, waits TAIL seconds, and records usage,
# engine stats, the monitor's line and the wall time under $work/NAME.*;
# then an idle window of the same wall time under $work/NAME-idle.*.
phase() {
  local name=$1; shift
  window "$name" "$TAIL" "$@"
  window "$name-idle" 0 sleep "$(cat "$work/$name.wall")"
}
# window NAME TAIL CMD...
window() {
  local name=$1 tail=$2 t0 t1; shift 2
  stats >"$work/$name.stats0"
  mark >/dev/null
  usage >"$work/$name.use0"
  t0=$(date +%s%N)
  "$@" 2>"$work/$name.calls"
  sleep "$tail"
  t1=$(date +%s%N)
  usage >"$work/$name.use1"
  mark >"$work/$name.sb"
  stats >"$work/$name.stats1"
  awk -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.3f\n", ns / 1e9 }' >"$work/$name.wall"
}

ready=$(grep '^ready' "$work/sbmon")
load=$(cut -d' ' -f1-3 /proc/loadavg)
fan1 call IpamDriver.RequestPool \
  "{\"AddressSpace\":\"ovnlocal\",\"Pool\":\"${POOL#ovnlocal/}\",\"Options\":{},\"V6\":false}" >/dev/null
phase claim fan1 claim "$POOL" "$N" "$work/addrs"
phase release fan1 release "$POOL" "$work/addrs"
fan1 call IpamDriver.ReleasePool "{\"PoolID\":\"$POOL\"}" >/dev/null
PHASES="claim release"
if [ "$PORTS" = 1 ]; then
  phase create-endpoint fan1 endpoints "$NETID" "$EP_FIRST" "$N" "$work/eps"
  phase delete-endpoint fan1 delete-endpoints "$NETID" "$work/eps"
  PHASES="$PHASES create-endpoint delete-endpoint"
fi
if [ "$ALT" = 1 ]; then
  fannb nbdrop fanout_alt_a "$N"; fannb nbdrop fanout_alt_e "$N"   # a run cut short
  phase nb-addr-claim fannb nbset fanout_alt_a addresses "$N"
  phase nb-addr-release fannb nbunset fanout_alt_a addresses "$N"
  phase nb-extid-claim fannb nbset fanout_alt_e external_ids "$N"
  phase nb-extid-release fannb nbunset fanout_alt_e external_ids "$N"
  fannb nbdrop fanout_alt_a "$N"; fannb nbdrop fanout_alt_e "$N"
  PHASES="$PHASES nb-addr-claim nb-addr-release nb-extid-claim nb-extid-release"
fi

# The table: per call, each phase net of its idle window.
echo "claims-fanout: $N calls per phase${PACE:+, $PACE apart}, 3 hosts, load before $load; SB monitor $ready"
echo "per call, net of idle: ms = the call's latency as host1's client saw it (pauses left out); SB_n, SB_B = the"
echo "Southbound monitor's notifications (in all) and bytes (per call); CPU in µs of ovn-controller"
echo "(ctl) on each host, ovn-northd, the NB and SB ovsdb-servers and host1's ovn-docker"
printf '%-16s %6s %6s %6s %6s | %7s %7s %7s | %7s %7s %7s %7s\n' phase ms wall_s SB_n SB_B \
  ctl1_us ctl2_us ctl3_us northd nb sb plugin
for p in $PHASES; do
  calls=$(sed -n 's/.*calls=\([0-9]*\) seconds=\([0-9.]*\).*/\1 \2/p' "$work/$p.calls")
  sb=$(sed 's/.*notifications=\([0-9]*\) bytes=\([0-9]*\).*/\1 \2/' "$work/$p.sb")
  awk -v calls="$calls" -v sb="$sb" -v wall="$(cat "$work/$p.wall")" -v p="$p" '
    FILENAME == ARGV[1] { a0[$1] = $2; next }
    FILENAME == ARGV[2] { a1[$1] = $2; next }
    FILENAME == ARGV[3] { i0[$1] = $2; next }
    { i1[$1] = $2 }
    function cpu(n) { return ((a1[n] - a0[n]) - (i1[n] - i0[n])) * 1000 / c[1] }
    END {
      split(calls, c, " "); split(sb, s, " ")
      printf "%-16s %6.2f %6.1f %6d %6.0f | %7.0f %7.0f %7.0f | %7.0f %7.0f %7.0f %7.0f\n",
        p, c[2] * 1000 / c[1], wall, s[1], s[2] / c[1], cpu("ctl-host1"), cpu("ctl-host2"),
        cpu("ctl-host3"), cpu("northd"), cpu("nb"), cpu("sb"), cpu("plugin")
    }' "$work/$p.use0" "$work/$p.use1" "$work/$p-idle.use0" "$work/$p-idle.use1"
done
echo
echo "the SB monitor over each phase: rows updated by table, and the last notification as received"
for p in $PHASES; do printf '  %-20s %s\n' "$p" "$(cut -d' ' -f3- "$work/$p.sb")"; done
echo
echo "idle windows: CPU ms over the window by process; the SB monitor's notifications and bytes"
for p in $PHASES; do
  printf '  %-21s %7ss  %s| %s\n' "$p-idle" "$(cat "$work/$p-idle.wall")" \
    "$(join <(sort "$work/$p-idle.use0") <(sort "$work/$p-idle.use1") | awk '{ printf "%s %d  ", $1, $3 - $2 }')" \
    "$(cut -d' ' -f1-2 "$work/$p-idle.sb")"
done
echo
# Table nodes (NB_*, SB_*, OVS_*) and the controller's input-like nodes run
# on every engine run; what counts is the others: "recompute/compute"
# (full run / incremental handlers) over the window.
echo "incremental engines over each window: engine runs, then nodes that ran as recompute/compute"
for p in $PHASES; do
  for w in "$p" "$p-idle"; do
    join <(sort "$work/$w.stats0") <(sort "$work/$w.stats1") | awk -v w="$w" '
      { split($1, a, ":"); h = a[1]; n = a[2]; r = $4 - $2; c = $5 - $3 }
      n == "SB_sb_global" { runs[h] = r }
      n ~ /^(NB|SB|OVS)_/ || n ~ /^(sb_ro|mff_ovn_geneve|ofctrl_is_connected|activated_ports|postponed_ports|mac_binding_aging_waker)$/ { next }
      r || c { line[h] = line[h] sprintf(" %s %d/%d", n, r, c) }
      END { for (h in runs) printf "  %-20s %-7s %3d runs:%s\n", w, h, runs[h], line[h] }' | sort -k2
  done
done
