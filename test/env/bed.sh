#!/usr/bin/env bash
# The multi-host bed's building blocks, sourced by hosts.sh (Docker hosts)
# and nested.sh (a hypervisor chassis and a VM on it): the OVN central, the
# underlay, and hosts made of namespaces (see hosts.sh for what a host is).
# Sourcing it defines functions and settings and starts nothing.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BED=/var/lib/ovn-hosts                 # everything the bed keeps
CENTRAL=$BED/central
NSDIR=$BED/ns                          # persistent mount namespaces
UL_NS=ovnh-ul
UL_NET=172.31.0
MAX_HOSTS=4
PLUGIN_BIN=${PLUGIN_BIN:-$ROOT/bin/ovn-docker}
TEST_IMAGE=ovn-docker-test/busybox:latest

BED_NAME=${BED_NAME:-hosts}            # what log lines start with
log() { printf '%s: %s\n' "$BED_NAME" "$*" >&2; }
die() { printf '%s: FAILED: %s\n' "$BED_NAME" "$*" >&2; exit 1; }
. "$(dirname "$0")/engine.sh"
. "$(dirname "$0")/outside.sh"

# wait_for SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until ( "$@" ) >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || die "$what did not come up within ${secs}s"
    sleep 0.2
  done
}

hostdir() { echo "$BED/$1"; }
hostnum() { local n=${1#host}; [[ "$n" =~ ^[1-9][0-9]*$ ]] && [ "$n" -le $MAX_HOSTS ] || die "no host named $1"; echo "$n"; }
chassis_up() { sb --bare --columns=name find Chassis name="$1" | grep -q .; }
nb() { ovn-nbctl --db="unix:$CENTRAL/ovnnb_db.sock" --timeout=10 "$@"; }
sb() { ovn-sbctl --db="unix:$CENTRAL/ovnsb_db.sock" --timeout=10 "$@"; }

# inh HOST CMD...: runs CMD in the host's namespaces, in the caller's
# directory (which every host sees: only /run is private), with that
# host's ovn-docker first on PATH.
inh() {
  local h=$1; shift
  PATH="$(hostdir "$h"):$PATH" nsenter --mount="$NSDIR/$h.mnt" --net="/run/netns/$h" --uts="$NSDIR/$h.uts" -- \
    sh -c 'cd "$1" 2>/dev/null || cd /; shift; exec "$@"' sh "$PWD" "$@"
}

# start_in HOST NAME CMD...: starts a long-running CMD in the host, in the
# background, its pid in NAME.pid and output in NAME.log of the host dir.
start_in() {
  local h=$1 name=$2; shift 2
  local d; d=$(hostdir "$h")
  setsid nsenter --mount="$NSDIR/$h.mnt" --net="/run/netns/$h" --uts="$NSDIR/$h.uts" -- "$@" >>"$d/$name.log" 2>&1 </dev/null &
  echo $! >"$d/$name.pid"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid PIDFILE [SECONDS]: TERM, wait, then KILL.
stop_pid() {
  local f=$1 secs=${2:-10} pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq $((secs * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# install_packages [PKG...]: installs those of the packages (default: the
# bed's) that are missing.
install_packages() {
  local missing=() p
  [ $# -gt 0 ] || set -- openvswitch-switch ovn-central ovn-host docker.io busybox-static ethtool iproute2 util-linux
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install failed"
}

# The directory holding the mount namespace files must be a private mount,
# or the kernel refuses to bind a namespace onto a file in it.
ns_dir() {
  mkdir -p "$NSDIR"
  if ! mountpoint -q "$NSDIR"; then
    mount --bind "$NSDIR" "$NSDIR"
    mount --make-private "$NSDIR"
  fi
}

central_up() {
  mkdir -p "$CENTRAL"
  local db
  for db in nb sb; do
    alive "$CENTRAL/$db.pid" && continue
    local schema=/usr/share/ovn/ovn-$db.ovsschema name
    name=$([ $db = nb ] && echo ovnnb_db || echo ovnsb_db)
    [ -f "$CENTRAL/$db.db" ] || ovsdb-tool create "$CENTRAL/$db.db" "$schema"
    ovsdb-server "$CENTRAL/$db.db" --remote="punix:$CENTRAL/$name.sock" --pidfile="$CENTRAL/$db.pid" \
      --unixctl="$CENTRAL/$db.ctl" --log-file="$CENTRAL/$db.log" -vconsole:off --detach 2>>"$CENTRAL/$db.log"
  done
  wait_for 10 "central NB" nb show
  wait_for 10 "central SB" sb show
  nb init
  if ! alive "$CENTRAL/northd.pid"; then
    ovn-northd --ovnnb-db="unix:$CENTRAL/ovnnb_db.sock" --ovnsb-db="unix:$CENTRAL/ovnsb_db.sock" \
      --pidfile="$CENTRAL/northd.pid" --unixctl="$CENTRAL/northd.ctl" --log-file="$CENTRAL/northd.log" \
      -vconsole:off --detach 2>>"$CENTRAL/northd.log"
  fi
}

underlay_up() {
  ip netns list | grep -qw "$UL_NS" || ip netns add "$UL_NS"
  ip -n "$UL_NS" link show ul >/dev/null 2>&1 || ip -n "$UL_NS" link add ul type bridge
  ip -n "$UL_NS" link set lo up
  ip -n "$UL_NS" link set ul up
}

# host_ns HOST N: the namespaces, the private /run and the underlay port.
host_ns() {
  local h=$1 n=$2 d; d=$(hostdir "$h")
  mkdir -p "$d"
  ip netns list | grep -qw "$h" || ip netns add "$h"
  if ! mountpoint -q "$NSDIR/$h.mnt" 2>/dev/null; then
    touch "$NSDIR/$h.mnt"
    unshare --mount="$NSDIR/$h.mnt" --propagation private -- sh -c "
      mount -t tmpfs -o mode=0755 tmpfs /run &&
      mkdir -p /run/docker/plugins /run/openvswitch /run/ovn /run/lock"
  fi
  # Its own host name: swarm names its nodes by it (docker node ls).
  if ! mountpoint -q "$NSDIR/$h.uts" 2>/dev/null; then
    touch "$NSDIR/$h.uts"
    unshare --uts="$NSDIR/$h.uts" -- hostname "$h"
  fi
  central_sockets "$h"
  ip -n "$h" link set lo up
  if ! ip -n "$h" link show ul0 >/dev/null 2>&1; then
    ip -n "$UL_NS" link del "ul$n" 2>/dev/null || true
    ip -n "$UL_NS" link add "ul$n" type veth peer name ul0 netns "$h"
    ip -n "$UL_NS" link set "ul$n" master ul up
  fi
  # The userspace datapath does not complete partial checksums.
  ip netns exec "$UL_NS" ethtool -K "ul$n" tx off >/dev/null
  inh "$h" ethtool -K ul0 tx off >/dev/null
  inh "$h" ip link set ul0 up
}

# central_sockets HOST: the central's NB and SB sockets appear in the host
# as /run/ovn/ovn{nb,sb}_db.sock, bind-mounted rather than linked so that a
# managed plugin, which sees the host's /run/ovn but not the central's
# directory, reaches them too. Done again at every up: a restarted central
# makes new sockets.
central_sockets() {
  local h=$1 db
  for db in ovnnb_db ovnsb_db; do
    nsenter --mount="$NSDIR/$h.mnt" -- sh -c '
      umount "$2" 2>/dev/null; rm -f "$2"; touch "$2" && mount --bind "$1" "$2"' \
      sh "$CENTRAL/$db.sock" "/run/ovn/$db.sock"
  done
}

# host_ovs HOST N: OVS on the userspace datapath, br-int for OVN, br-phy
# holding the underlay port and the encap IP, and ovn-controller.
host_ovs() {
  local h=$1 n=$2 d; d=$(hostdir "$h")
  if ! inh "$h" ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
    [ -f "$d/conf.db" ] || ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    inh "$h" ovsdb-server "$d/conf.db" --remote=punix:/run/openvswitch/db.sock --pidfile --detach \
      --log-file="$d/ovsdb-server.log" -vconsole:off 2>>"$d/ovsdb-server.log"
    wait_for 10 "$h ovsdb-server (see $d/ovsdb-server.log)" inh "$h" ovs-vsctl --timeout=1 show
    inh "$h" ovs-vsctl --no-wait init
  fi
  if ! inh "$h" ovs-appctl -t ovs-vswitchd version >/dev/null 2>&1; then
    # Its start-up lines (errors included) go to its log, not the terminal.
    inh "$h" ovs-vswitchd --pidfile --detach --log-file="$d/ovs-vswitchd.log" -vconsole:off 2>>"$d/ovs-vswitchd.log"
    wait_for 10 "$h ovs-vswitchd (see $d/ovs-vswitchd.log)" inh "$h" ovs-appctl -t ovs-vswitchd version
  fi
  inh "$h" ovs-vsctl --timeout=10 --may-exist add-br br-int -- set bridge br-int datapath_type=netdev \
    fail-mode=secure other-config:disable-in-band=true
  inh "$h" ovs-vsctl --timeout=10 --may-exist add-br br-phy -- set bridge br-phy datapath_type=netdev \
    other-config:disable-in-band=true -- --may-exist add-port br-phy ul0
  # Every host can be a gateway chassis: br-ex on the outside (outside.sh).
  inh "$h" ovs-vsctl --timeout=10 --may-exist add-br br-ex -- set bridge br-ex datapath_type=netdev
  outside_plug "oo$n" "$h"
  inh "$h" ovs-vsctl --timeout=10 --may-exist add-port br-ex "oo$n-ex" \
    -- set open . external-ids:ovn-bridge-mappings=physnet:br-ex
  inh "$h" ip link set br-phy up
  inh "$h" ip addr replace "$UL_NET.$n/24" dev br-phy
  inh "$h" ovs-vsctl --timeout=10 set open . external-ids:system-id="$h" \
    external-ids:ovn-remote=unix:/run/ovn/ovnsb_db.sock external-ids:ovn-encap-type=geneve \
    external-ids:ovn-encap-ip="$UL_NET.$n" external-ids:ovn-bridge-datapath-type=netdev
  if ! inh "$h" ovn-appctl -t ovn-controller version >/dev/null 2>&1; then
    inh "$h" ovn-controller --pidfile --detach --log-file="$d/ovn-controller.log" -vconsole:off \
      unix:/run/openvswitch/db.sock 2>>"$d/ovn-controller.log"
  fi
  wait_for 30 "chassis $h in the southbound database" chassis_up "$h"
}

host_docker() {
  local h=$1 d; d=$(hostdir "$h")
  local want; want=$DOCKER_ENGINE
  if inh "$h" docker info >/dev/null 2>&1; then
    [ "$(cat "$d/engine" 2>/dev/null)" = "$want" ] && return
    log "$h: stopping the $(cat "$d/engine" 2>/dev/null) engine to start the $want one"
    inh "$h" sh -c 'docker ps -aq | xargs -r docker rm -f' >/dev/null 2>&1 || true
    stop_pid "$d/dockerd.pid" 30
  fi
  local argv; mapfile -t argv < <(engine_argv "$want" "$d/docker-$want")
  start_in "$h" dockerd "${argv[@]}"
  echo "$want" >"$d/engine"
  wait_for 60 "$h dockerd (see $d/dockerd.log)" inh "$h" docker info
  inh "$h" docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 || inh "$h" docker import -c 'CMD ["sh"]' "$BED/image.tar" "$TEST_IMAGE" >/dev/null
}

image_tar() {
  [ -f "$BED/image.tar" ] && return
  local root; root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  tar -C "$root" -cf "$BED/image.tar" .
  rm -rf "$root"
}

# plugin_start HOST [FLAGS...]: host K's ovn-docker, as its service would run.
plugin_start() {
  local h=$1; shift
  local d; d=$(hostdir "$h")
  [ -x "$PLUGIN_BIN" ] || die "$PLUGIN_BIN is missing: run make build"
  stop_pid "$d/ovn-docker.pid"
  cp "$PLUGIN_BIN" "$d/ovn-docker"   # a rebuild never changes a running host's binary
  start_in "$h" ovn-docker "$d/ovn-docker" serve --log-level debug "$@"
  wait_for 10 "$h ovn-docker (see $d/ovn-docker.log)" inh "$h" test -S /run/docker/plugins/openvswitch.sock
}

plugin_cmd() {
  local h=$1 what=${2:-}; shift 2 || true
  local d; d=$(hostdir "$h")
  case "$what" in
    start) plugin_start "$h" "$@" ;;
    stop) stop_pid "$d/ovn-docker.pid" 20 ;;
    kill) alive "$d/ovn-docker.pid" && kill -9 "$(cat "$d/ovn-docker.pid")"; rm -f "$d/ovn-docker.pid" ;;
    *) die "usage: hosts.sh plugin hostK start [FLAGS...] | stop | kill" ;;
  esac
}

host_up() {
  local h=$1 n=$2
  host_ns "$h" "$n"
  host_ovs "$h" "$n"
  host_docker "$h"
  local d; d=$(hostdir "$h")
  # A rebuilt binary is picked up: a test must never run yesterday's plugin.
  if ! alive "$d/ovn-docker.pid" || ! cmp -s "$PLUGIN_BIN" "$d/ovn-docker"; then
    plugin_start "$h"
  fi
}

# underlay_neighbors N: on the userspace datapath OVS resolves a Geneve
# peer's MAC from its own cache, not the kernel's, and drops the packet that
# misses it while it sends an ARP; entries age out after 15 idle minutes
# (an hour at most). Tests check the first packet across hosts, so every
# host is given every peer's MAC at up, and again by the multi-host suite
# before it starts (hosts.sh neighbors): nothing is left to luck.
underlay_neighbors() {
  local n=$1 k j mac
  for k in $(seq "$n"); do
    inh "host$k" ovs-appctl tnl/neigh/aging 3600 >/dev/null
    for j in $(seq "$n"); do
      [ "$j" = "$k" ] && continue
      mac=$(inh "host$j" ovs-vsctl --timeout=5 get interface br-phy mac_in_use | tr -d '"')
      inh "host$k" ovs-appctl tnl/neigh/set br-phy "$UL_NET.$j" "$mac" >/dev/null
    done
  done
}

# hosts_up counts the hosts of the bed.
hosts_up() { local d n=0; for d in "$BED"/host*; do [ -d "$d" ] && n=$((n + 1)); done; echo "$n"; }

swarm_state() { inh "$1" docker info --format '{{.Swarm.LocalNodeState}}'; }

# swarm_up: host1 initialises a swarm on its underlay address and manages
# it; every other host joins as a worker. Idempotent.
swarm_up() {
  local n k token; n=$(hosts_up)
  [ "$n" -ge 1 ] || die "no host is up (hosts.sh up N)"
  [ "$(swarm_state host1)" = active ] || inh host1 docker swarm init --advertise-addr "$UL_NET.1" >/dev/null
  token=$(inh host1 docker swarm join-token -q worker)
  for k in $(seq 2 "$n"); do
    [ "$(swarm_state "host$k")" = active ] && continue
    inh "host$k" docker swarm join --token "$token" --advertise-addr "$UL_NET.$k" "$UL_NET.1:2377" >/dev/null
  done
  log "swarm: host1 manages it, host2..host$n work in it"
}

# swarm_leave: every host leaves, workers first.
swarm_leave() {
  local n k; n=$(hosts_up)
  for k in $(seq "$n" -1 1); do
    [ "$(swarm_state "host$k")" = inactive ] || inh "host$k" docker swarm leave --force >/dev/null
  done
  log "swarm: left"
}

host_down() {
  local h=$1 d; d=$(hostdir "$h")
  if [ -e "$NSDIR/$h.mnt" ] && ip netns list | grep -qw "$h"; then
    inh "$h" sh -c 'docker ps -aq | xargs -r docker rm -f' >/dev/null 2>&1 || true
    stop_pid "$d/ovn-docker.pid"
    stop_pid "$d/dockerd.pid" 30
    local pids pid
    pids=$(ip netns pids "$h" 2>/dev/null || true)
    [ -n "$pids" ] && kill $pids 2>/dev/null || true
    for _ in $(seq 50); do
      pids=$(ip netns pids "$h" 2>/dev/null || true)
      [ -z "$pids" ] && break
      sleep 0.1
    done
    for pid in $(ip netns pids "$h" 2>/dev/null || true); do kill -9 "$pid" 2>/dev/null || true; done
  fi
  # As an admin retiring a host would: its Chassis row would otherwise hold
  # NB_Global.hv_cfg back, and every Join's wait for the chassis with it.
  if alive "$CENTRAL/sb.pid"; then sb --if-exists chassis-del "$h"; fi
  outside_unplug "oo$(hostnum "$h")"
  umount "$NSDIR/$h.mnt" "$NSDIR/$h.uts" 2>/dev/null || true
  rm -f "$NSDIR/$h.mnt" "$NSDIR/$h.uts"
  ip netns del "$h" 2>/dev/null || true
  rm -rf "$d"
}

# bed_gateway N: routed networks leave through host1, or host2 when host1
# fails, to the outside (outside.sh), routers taking addresses from .32/28.
bed_gateway() {
  local chassis=host1; [ "$1" -ge 2 ] && chassis=host1,host2
  "$PLUGIN_BIN" gateway set --nb "unix:$CENTRAL/ovnnb_db.sock" --subnet "$OUTSIDE_NET.0/24" --next-hop "$OUTSIDE_NET.1" \
    --range "$OUTSIDE_NET.32/28" --chassis "$chassis" --physnet physnet >/dev/null
}

# forget_stale: a bed whose namespaces are gone (a reboot, a machine
# restored from a snapshot) keeps files that describe nothing running any
# more: data roots holding the networks, swarm and managed plugins of its
# last tests, pid files that may now name someone else's processes, and a
# central with the old rows. Such hosts are removed, and such a central
# when no host is left, so that up builds them afresh.
forget_stale() {
  local d h live=0
  nb --timeout=2 show >/dev/null 2>&1 || rm -f "$CENTRAL"/*.pid
  for d in "$BED"/host*; do
    [ -d "$d" ] || continue
    h=$(basename "$d")
    if mountpoint -q "$NSDIR/$h.mnt" 2>/dev/null; then live=1; continue; fi
    log "$h: left by an earlier bed whose processes are gone; removing it"
    rm -f "$d"/*.pid
    host_down "$h"
  done
  if [ $live = 0 ] && [ -d "$CENTRAL" ] && ! [ -f "$CENTRAL/nb.pid" ]; then
    log "central: left by an earlier bed; removing it"
    rm -rf "$CENTRAL"
  fi
}

up() {
  local n=${1:-}
  [[ "$n" =~ ^[1-9]$ ]] && [ "$n" -le $MAX_HOSTS ] || die "usage: hosts.sh up N (1 to $MAX_HOSTS)"
  [ "$(id -u)" = 0 ] || die "must run as root"
  engine_check_name "$DOCKER_ENGINE"
  install_packages
  [ "$DOCKER_ENGINE" = current ] && engine_build_current
  mkdir -p "$BED"
  ns_dir
  forget_stale
  image_tar
  central_up
  underlay_up
  local k
  for k in $(seq "$n"); do host_up "host$k" "$k"; done
  underlay_neighbors "$n"
  for k in $(seq $((n + 1)) $MAX_HOSTS); do [ -d "$BED/host$k" ] && host_down "host$k"; done
  bed_gateway "$n"
  log "up: host1..host$n ($DOCKER_ENGINE engine), OVN central in $CENTRAL, underlay $UL_NET.0/24"
}

down() {
  local d
  # The nested bed (nested.sh) lives on this central: it goes first.
  if [ -d "$BED/hv" ] || [ -d "$BED/vm" ]; then "$(dirname "$0")/nested.sh" down; fi
  for d in "$BED"/host*; do [ -d "$d" ] && host_down "$(basename "$d")"; done
  local f
  for f in northd nb sb; do stop_pid "$CENTRAL/$f.pid"; done
  ip netns del "$UL_NS" 2>/dev/null || true
  umount "$NSDIR" 2>/dev/null || true
  rm -rf "$BED"
  log "down"
}

