package driver

import (
	"crypto/sha256"
	"net"
	"net/netip"
)

// Names of everything the driver makes are derived from Docker's IDs, so a
// retried call finds what the first attempt made instead of making another.

// shortID is the prefix Docker itself shows for IDs (docker network ls).
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// SwitchName is the logical switch of a Docker network; operators can match
// it to `docker network ls` at a glance.
func SwitchName(networkID string) string { return "docker-" + shortID(networkID) }

// PortName is the logical switch port of an endpoint: the endpoint ID itself.
func PortName(endpointID string) string { return endpointID }

// hostIfPrefix starts the name of every host-side veth end.
const hostIfPrefix = "ovh"

// HostIfName is the host end of the endpoint's veth, the OVS port on br-int.
// Linux limits interface names to 15 bytes; this is exactly 15.
func HostIfName(endpointID string) string { return hostIfPrefix + shortID(endpointID) }

// PeerIfName is the end Docker moves into the container and renames to ethN.
func PeerIfName(endpointID string) string { return "ovc" + shortID(endpointID) }

// EndpointMAC is the MAC chosen when Docker sends none. It follows from
// the endpoint's address, as Docker's own bridge driver does: a container
// restarted or reconnected with the same IP gets a new endpoint but keeps
// its MAC, so its peers' ARP and neighbour caches stay right (Docker 20.10
// sends no gratuitous ARP). Addresses are unique on a switch, even one
// shared by hosts, so these MACs are too: IPv4 gives 0a:58:<the four
// bytes> (the prefix ovn-kubernetes uses), IPv6 alone gives 0e:<the low 40
// bits>, unique within any subnet of /88 or smaller. All are locally
// administered unicast; an endpoint with no address, which Docker does not
// make, would get one from its ID.
func EndpointMAC(ipv4, ipv6 netip.Addr, endpointID string) net.HardwareAddr {
	switch {
	case ipv4.IsValid():
		b := ipv4.As4()
		return net.HardwareAddr{0x0a, 0x58, b[0], b[1], b[2], b[3]}
	case ipv6.IsValid():
		b := ipv6.As16()
		return net.HardwareAddr{0x0e, b[11], b[12], b[13], b[14], b[15]}
	}
	sum := sha256.Sum256([]byte(endpointID))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}

// linkMark is the alias the endpoint's host-side veth carries: the mark
// reconciliation and deletes go by, so a device that merely matches our
// naming pattern is never touched.
func linkMark(endpointID string) string { return "ovn-docker endpoint " + endpointID }
