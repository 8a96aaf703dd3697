#!/usr/bin/env bash
# Brings up, idempotently, everything ovn-docker needs on one Debian host:
# OVS (userspace datapath when the kernel module is missing), OVN central
# (NB, SB, northd), ovn-controller, a Docker engine and a busybox image.
# Safe to run again: whatever already answers is left as it is.
set -euo pipefail
[ -n "${DOCKER_ENGINE:-}" ] && DOCKER_ENGINE_ASKED=1

: "${OVN_DOCKER_SYSTEM_ID:=$(hostname)}"
: "${OVN_DOCKER_ENCAP_IP:=127.0.0.1}"
STATE=/run/ovn-docker-env          # what this script started, for down.sh
OVS_RUN=/var/run/openvswitch
OVN_CTL=/usr/share/ovn/scripts/ovn-ctl
PACKAGES=(openvswitch-switch ovn-central ovn-host docker.io busybox-static ethtool iproute2 procps systemd make python3)

log() { printf 'env: %s\n' "$*" >&2; }
die() { printf 'env: FAILED: %s\n' "$*" >&2; exit 1; }
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

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}

# The userspace datapath stands in where the kernel has no openvswitch module.
datapath_type() {
  if [ -n "${OVN_DOCKER_DATAPATH:-}" ]; then echo "$OVN_DOCKER_DATAPATH"; return; fi
  if [ -d /sys/module/openvswitch ] || modprobe -q openvswitch 2>/dev/null; then
    echo system
  else
    echo netdev
  fi
}

start_ovs() {
  mkdir -p "$OVS_RUN" /var/log/openvswitch /etc/openvswitch "$STATE"
  if ! ovs-vsctl --timeout=2 show >/dev/null 2>&1; then
    [ -f /etc/openvswitch/conf.db ] ||
      ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
    log "starting ovsdb-server (Open_vSwitch)"
    ovsdb-server /etc/openvswitch/conf.db --remote=punix:$OVS_RUN/db.sock \
      --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
      --pidfile --detach --log-file -vconsole:off
    wait_for 10 "ovsdb-server" ovs-vsctl --timeout=1 show
    ovs-vsctl --no-wait init
    touch "$STATE/ovs"
  fi
  if ! ovs-appctl -t ovs-vswitchd version >/dev/null 2>&1; then
    log "starting ovs-vswitchd"
    ovs-vswitchd --pidfile --detach --log-file -vconsole:off
    wait_for 10 "ovs-vswitchd" ovs-appctl -t ovs-vswitchd version
    touch "$STATE/ovs"
  fi
  local dp; dp=$(datapath_type)
  ovs-vsctl --timeout=10 --may-exist add-br br-int -- set bridge br-int \
    datapath_type="$dp" fail-mode=secure other-config:disable-in-band=true
}

start_ovn() {
  if ! ovn-nbctl --timeout=2 --db=unix:/var/run/ovn/ovnnb_db.sock show >/dev/null 2>&1 ||
     ! ovn-appctl -t ovn-northd version >/dev/null 2>&1; then
    log "starting OVN central (NB, SB, northd)"
    "$OVN_CTL" start_northd >/dev/null
    wait_for 20 "OVN northbound database" ovn-nbctl --timeout=1 show
    wait_for 20 "OVN southbound database" ovn-sbctl --timeout=1 show
    touch "$STATE/ovn-central"
  fi
  local dp; dp=$(datapath_type)
  local sid; sid=$(ovs-vsctl --timeout=5 get open . external-ids:system-id 2>/dev/null | tr -d '"' || true)
  [ -n "$sid" ] || sid=$OVN_DOCKER_SYSTEM_ID
  ovs-vsctl --timeout=10 set open . external-ids:system-id="$sid" \
    external-ids:ovn-remote=unix:/var/run/ovn/ovnsb_db.sock \
    external-ids:ovn-encap-type=geneve external-ids:ovn-encap-ip="$OVN_DOCKER_ENCAP_IP" \
    external-ids:ovn-bridge-datapath-type="$dp"
  if ! ovn-appctl -t ovn-controller version >/dev/null 2>&1; then
    log "starting ovn-controller"
    "$OVN_CTL" start_controller >/dev/null
    wait_for 20 "ovn-controller" ovn-appctl -t ovn-controller version
    touch "$STATE/ovn-controller"
  fi
  wait_for 30 "chassis $sid in the southbound database" \
    sh -c "ovn-sbctl --timeout=2 --bare --columns=name find Chassis name=$sid | grep -q ."
}

# start_outside: this host is the gateway chassis of routed networks, its
# br-ex plugged into the outside (outside.sh); `ovn-docker gateway set`
# (plugin.sh start does it) tells OVN.
start_outside() {
  ovs-vsctl --timeout=10 --may-exist add-br br-ex -- set bridge br-ex datapath_type="$(datapath_type)"
  ovs-vsctl --timeout=10 set open . external-ids:ovn-bridge-mappings=physnet:br-ex
  outside_plug oo
  ovs-vsctl --timeout=10 --may-exist add-port br-ex oo-ex
}

# start_docker runs the engine DOCKER_ENGINE names. One this script started
# for the other engine is stopped first; one it did not start is used as it
# is, unless DOCKER_ENGINE asked for another kind.
start_docker() {
  mkdir -p /run/docker/plugins "$STATE"
  engine_check_name "$DOCKER_ENGINE"
  if docker info >/dev/null 2>&1; then
    if [ ! -f "$STATE/dockerd.pid" ]; then
      local kind; kind=$(engine_kind)
      if [ -n "${DOCKER_ENGINE_ASKED:-}" ] && [ "${kind%% *}" != "$DOCKER_ENGINE" ]; then
        die "a Docker engine this script did not start answers on /var/run/docker.sock ($kind); stop it to run DOCKER_ENGINE=$DOCKER_ENGINE"
      fi
      return
    fi
    [ "$(cat "$STATE/engine" 2>/dev/null)" = "$DOCKER_ENGINE" ] && return
    log "stopping the $(cat "$STATE/engine" 2>/dev/null || echo other) engine to start the $DOCKER_ENGINE one"
    engine_stop "$STATE/dockerd.pid"
  fi
  [ "$DOCKER_ENGINE" = current ] && engine_build_current
  local argv; mapfile -t argv < <(engine_argv "$DOCKER_ENGINE" "$(engine_data_root "$DOCKER_ENGINE")")
  log "starting dockerd ($DOCKER_ENGINE engine)"
  setsid "${argv[@]}" >"/var/log/dockerd-$DOCKER_ENGINE.log" 2>&1 < /dev/null &
  echo $! > "$STATE/dockerd.pid"
  echo "$DOCKER_ENGINE" > "$STATE/engine"
  wait_for 60 "dockerd (see /var/log/dockerd-$DOCKER_ENGINE.log)" docker info
}

# No registry is reachable: the image is built from Debian's busybox-static,
# under a tag of our own, so a user's busybox:latest (which may lack a
# default command) is neither relied on nor replaced.
TEST_IMAGE=ovn-docker-test/busybox:latest
busybox_image() {
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && return
  log "building $TEST_IMAGE from busybox-static"
  local root; root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  tar -C "$root" -c . | docker import -c 'CMD ["sh"]' - "$TEST_IMAGE" >/dev/null
  rm -rf "$root"
}

main() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  install_packages
  start_ovs
  start_ovn
  start_outside
  start_docker
  busybox_image
  log "up: OVS ($(datapath_type) datapath), OVN NB/SB/northd, ovn-controller, outside $OUTSIDE_NS ($OUTSIDE_NET.1/24 on br-ex), dockerd ($(engine_kind)), $TEST_IMAGE"
}

main "$@"
