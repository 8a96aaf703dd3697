#!/usr/bin/env bash
# A multi-host test bed on this one machine: N Docker hosts sharing one OVN
# central, talking Geneve over a shared underlay.
#
#   hosts.sh up N                 bring up host1 … hostN (N ≤ 4); idempotent
#   hosts.sh exec hostK CMD…      run CMD inside host K: docker, ovs-vsctl,
#                                 ovn-nbctl, ovn-appctl and ovn-docker status
#                                 reach that host's own daemons (and the
#                                 shared NB) without flags
#   hosts.sh plugin hostK start [FLAGS…] | stop | kill
#                                 (re)start host K's ovn-docker with extra
#                                 serve flags, stop it, or kill it with -9
#   hosts.sh neighbors            give every host its Geneve peers' MACs
#                                 again (see underlay_neighbors)
#   hosts.sh swarm up | leave     form a swarm of the hosts (host1 manager,
#                                 the others workers) or dissolve it
#   hosts.sh down                 remove it all
#
# Each host is a network namespace, a UTS namespace (host name hostK) and a
# mount namespace with a private /run: its own dockerd (own data root; its
# own containerd, exec root and socket under that /run), its own
# ovsdb-server and ovs-vswitchd (userspace datapath) with br-int and br-phy,
# ovn-controller with system-id hostK and Geneve encap IP 172.31.0.K on
# br-phy, and ovn-docker from bin/ovn-docker on
# /run/docker/plugins/openvswitch.sock. /run/ovn/ovnnb_db.sock and
# ovnsb_db.sock inside a host are the central's sockets, bind-mounted. The
# underlay is a Linux bridge in namespace ovnh-ul; each host's end of it is
# a port of br-phy. Hosts are entered with nsenter, never `ip netns exec`,
# which remounts /sys and hides cgroups from dockerd. Only addresses inside
# these namespaces carry traffic. DOCKER_ENGINE (debian or current) picks
# the engine every host runs (test/env/engine.sh).
set -euo pipefail
. "$(dirname "$0")/bed.sh"

case "${1:-}" in
  up) up "${2:-}" ;;
  exec)
    [ $# -ge 3 ] || die "usage: hosts.sh exec hostK CMD..."
    hostnum "$2" >/dev/null
    h=$2; shift 2
    [ -e "$NSDIR/$h.mnt" ] || die "$h is not up (hosts.sh up N)"
    inh "$h" "$@" ;;
  plugin) hostnum "${2:-}" >/dev/null; plugin_cmd "${@:2}" ;;
  neighbors) underlay_neighbors "$(hosts_up)" ;;
  swarm)
    case "${2:-}" in
      up) swarm_up ;;
      leave) swarm_leave ;;
      *) die "usage: hosts.sh swarm up|leave" ;;
    esac ;;
  down) down ;;
  *) die "usage: hosts.sh up N | exec hostK CMD... | plugin hostK start|stop|kill | neighbors | swarm up|leave | down" ;;
esac
