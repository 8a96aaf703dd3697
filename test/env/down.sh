#!/usr/bin/env bash
# Tears down what up.sh started: the demo plugin, dockerd (only if up.sh
# started it), ovn-controller, OVN central and OVS, and their databases.
set -uo pipefail
STATE=/run/ovn-docker-env
OVN_CTL=/usr/share/ovn/scripts/ovn-ctl
cd "$(dirname "$0")"

die() { printf 'env: FAILED: %s\n' "$*" >&2; exit 1; }
log() { printf 'env: %s\n' "$*" >&2; }
. ./engine.sh
. ./outside.sh

./plugin.sh stop
engine_stop "$STATE/dockerd.pid"
rm -f "$STATE/engine"
[ -f "$STATE/ovn-controller" ] && "$OVN_CTL" stop_controller >/dev/null 2>&1
[ -f "$STATE/ovn-central" ] && "$OVN_CTL" stop_northd >/dev/null 2>&1
outside_unplug oo
if [ -f "$STATE/ovs" ]; then
  ovs-appctl -t ovs-vswitchd exit >/dev/null 2>&1
  ovs-appctl -t ovsdb-server exit >/dev/null 2>&1
  rm -f /etc/openvswitch/conf.db
fi
[ -f "$STATE/ovn-central" ] && rm -f /var/lib/ovn/ovnnb_db.db /var/lib/ovn/ovnsb_db.db
rm -rf "$STATE"
echo "env: down"
