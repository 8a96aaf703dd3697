#!/usr/bin/env bash
# Where a whole `docker run --rm IMAGE true` spends its time, per network
# (the five of docker-run.sh, in turn, N runs each), from the engine's own
# events (docker events, nanosecond times):
#   cli     the CLI's start to the container's create event
#   start   create to start: the network sandbox, each network's
#           endpoint and join (and the docker_gwbridge endpoint Docker adds
#           to a remote network whose Join names no gateway), runc create
#   run     start to die: `true` itself
#   stop    die to destroy: leaving the networks, deleting the endpoints
#           and the sandbox, removing the container
#   exit    destroy to the CLI's exit
# Prints each phase's median per network and how far it is from --net=none's
# and the bridge's, and the networks each run's container was connected to.
# Usage: test/bench/run-phases.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10}
BIN=${BIN:-bin/ovn-docker}
IMAGE=${IMAGE:-ovn-docker-test/busybox:latest}

. test/bench/run-nets.sh

test/env/up.sh
test/env/plugin.sh start "$BIN"
TMP=$(mktemp -d)
EV=
trap '[ -n "$EV" ] && kill "$EV" 2>/dev/null; rmnets; test/env/plugin.sh stop; rm -rf "$TMP"' EXIT
mknets
for net in "${NETS[@]}"; do docker run --rm "${ARG[$net]}" "$IMAGE" true; done   # warm up

docker events --format '{{.TimeNano}} {{.Type}} {{.Action}} {{.Actor.Attributes.name}}' >"$TMP/events" &
EV=$!
sleep 1
for i in $(seq "$N"); do
  for net in "${NETS[@]}"; do
    t0=$(date +%s%N)
    docker run --rm "${ARG[$net]}" "$IMAGE" true
    t1=$(date +%s%N)
    echo "$net $t0 $t1" >>"$TMP/runs"
  done
done
sleep 1
kill "$EV"; wait "$EV" 2>/dev/null || true; EV=

# per run: "net phase ms" lines, and "net connected NAMES"
awk 'BEGIN { r = 1 }
  NR == FNR { net[NR] = $1; t0[NR] = $2; t1[NR] = $3; n = NR; next }
  {
    while (r <= n && $1 > t1[r]) r++
    if (r > n || $1 < t0[r]) next
    if ($2 == "container") t[r, $3] = $1
    if ($2 == "network" && $3 == "connect") conn[r] = conn[r] " " $4
  }
  END {
    for (r = 1; r <= n; r++) {
      if (!((r, "create") in t) || !((r, "destroy") in t)) { print net[r], "incomplete", 0; continue }
      print net[r], "1-cli", (t[r, "create"] - t0[r]) / 1e6
      print net[r], "2-start", (t[r, "start"] - t[r, "create"]) / 1e6
      print net[r], "3-run", (t[r, "die"] - t[r, "start"]) / 1e6
      print net[r], "4-stop", (t[r, "destroy"] - t[r, "die"]) / 1e6
      print net[r], "5-exit", (t1[r] - t[r, "destroy"]) / 1e6
      print net[r], "6-whole", (t1[r] - t0[r]) / 1e6
      print net[r], "connected", (conn[r] == "" ? " -" : conn[r])
    }
  }' "$TMP/runs" "$TMP/events" >"$TMP/phases"

echo "docker run --rm NET $IMAGE true, $N runs per network, in turn: median ms of each phase (docker events)"
grep -v connected "$TMP/phases" | sort -k1,1 -k2,2 -k3,3n | awk '
  { k = $1 " " $2; v[k, ++c[k]] = $3 }
  END { for (k in c) print k, v[k, int((c[k] + 1) / 2)] }' >"$TMP/medians"
printf '%-9s' network
for p in 1-cli 2-start 3-run 4-stop 5-exit 6-whole; do printf ' %9s' "${p#?-}"; done
printf '   start-none start-bridge stop-none stop-bridge\n'
for net in "${NETS[@]}"; do
  printf '%-9s' "$net"
  for p in 1-cli 2-start 3-run 4-stop 5-exit 6-whole; do
    printf ' %9.1f' "$(awk -v k="$net" -v p="$p" '$1 == k && $2 == p { print $3 }' "$TMP/medians")"
  done
  awk -v k="$net" '
    { m[$1, $2] = $3 }
    END { printf "   %10.1f %12.1f %9.1f %11.1f\n", m[k, "2-start"] - m["none", "2-start"], m[k, "2-start"] - m["bridge", "2-start"],
      m[k, "4-stop"] - m["none", "4-stop"], m[k, "4-stop"] - m["bridge", "4-stop"] }' "$TMP/medians"
done
echo "networks connected (docker events), per network: count of runs"
awk '$2 == "connected" { $2 = ""; print }' "$TMP/phases" | sort | uniq -c
