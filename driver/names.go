package driver

import (
	"crypto/sha256"
	"net"
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

// EndpointMAC is the MAC chosen when Docker sends none: locally administered,
// unicast, and derived from the endpoint ID so a retry picks the same one.
func EndpointMAC(endpointID string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(endpointID))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}
