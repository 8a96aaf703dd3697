# shellcheck shell=bash
# The world beyond the gateway of routed networks, shared by the one-host
# environment (up.sh) and the multi-host bed (hosts.sh): namespace
# ovn-outside with a Linux bridge "seg" holding 172.30.0.1/24, the next hop
# routers send what leaves to. Each gateway chassis' br-ex is plugged into
# seg by a veth (NAME-ex on br-ex, NAME-in on seg); ovn-bridge-mappings
# names the segment physnet. Sourced; needs log and die.
OUTSIDE_NS=ovn-outside
OUTSIDE_NET=172.30.0

outside_up() {
  ip netns list | grep -qw "$OUTSIDE_NS" || ip netns add "$OUTSIDE_NS"
  ip -n "$OUTSIDE_NS" link show seg >/dev/null 2>&1 || ip -n "$OUTSIDE_NS" link add seg type bridge
  ip -n "$OUTSIDE_NS" link set lo up
  ip -n "$OUTSIDE_NS" link set seg up
  ip -n "$OUTSIDE_NS" addr replace "$OUTSIDE_NET.1/24" dev seg
}

# outside_plug NAME [NETNS]: a veth from the segment to NAME-ex in NETNS
# (the root namespace without one), which the caller adds to its br-ex.
outside_plug() {
  local name=$1 ns=${2:-}
  local in=(ip); [ -n "$ns" ] && in=(ip -n "$ns")
  outside_up
  if ! "${in[@]}" link show "$name-ex" >/dev/null 2>&1; then
    ip -n "$OUTSIDE_NS" link del "$name-in" 2>/dev/null || true
    "${in[@]}" link add "$name-ex" type veth peer name "$name-in" netns "$OUTSIDE_NS"
  fi
  ip -n "$OUTSIDE_NS" addr flush dev "$name-in"   # a port of seg: the address is seg's
  ip -n "$OUTSIDE_NS" link set "$name-in" master seg up
  "${in[@]}" link set "$name-ex" up
  # The userspace datapath does not complete partial checksums.
  ip netns exec "$OUTSIDE_NS" ethtool -K "$name-in" tx off >/dev/null
  if [ -n "$ns" ]; then ip netns exec "$ns" ethtool -K "$name-ex" tx off >/dev/null; else ethtool -K "$name-ex" tx off >/dev/null; fi
}

# outside_unplug NAME: removes NAME's veth; the namespace goes with the
# last one.
outside_unplug() {
  ip -n "$OUTSIDE_NS" link del "$1-in" 2>/dev/null || true
  if ip netns list | grep -qw "$OUTSIDE_NS" && [ -z "$(ip -n "$OUTSIDE_NS" -o link show master seg 2>/dev/null)" ]; then
    ip netns del "$OUTSIDE_NS"
  fi
}
