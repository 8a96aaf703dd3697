# Sourced by docker-run.sh and run-phases.sh: the five networks they time
# `docker run` on, by label, and how to make and remove them.
NETS=(none bridge per-host shared routed)
declare -A ARG=([none]=--net=none [bridge]=--net=bench-bridge [per-host]=--net=bench-run
  [shared]=--net=bench-shared [routed]=--net=bench-routed)

rmnets() { docker network rm bench-run bench-shared bench-routed bench-bridge >/dev/null 2>&1 || true; }

mknets() {
  rmnets
  docker network create -d bridge --subnet 10.211.0.0/16 bench-bridge >/dev/null
  docker network create -d openvswitch --subnet 10.210.0.0/16 bench-run >/dev/null
  docker network create -d openvswitch -o ovn.network=bench-shared --subnet 10.213.0.0/16 \
    --ipam-driver openvswitch --ipam-opt ovn.network=bench-shared bench-shared >/dev/null
  docker network create -d openvswitch --subnet 10.212.0.0/16 -o ovn.router=bench bench-routed >/dev/null
}
