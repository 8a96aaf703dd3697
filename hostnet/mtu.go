package hostnet

import (
	"errors"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// ErrNoUnderlay means no device could be found whose MTU bounds the
// tunnels: guessing one would give every container of the network an MTU
// that may drop large packets between hosts.
var ErrNoUnderlay = errors.New("no underlay device found")

// GeneveOverhead is what Geneve encapsulation adds to a packet: outer IP,
// UDP, Geneve header with OVN's option, and the inner Ethernet header, so a
// 1500-byte underlay leaves 1442 for the container over IPv4 (1422 over
// IPv6, whose header is 20 bytes longer).
func GeneveOverhead(encapIP string) int {
	if ip := net.ParseIP(encapIP); ip != nil && ip.To4() == nil {
		return 78
	}
	return 58
}

// UnderlayMTU returns the MTU of the device that carries encapIP. When
// encapIP is empty, not on this host, or on loopback (single-host setups
// encapsulate to 127.0.0.1 or not at all), it uses the device of the IPv4
// default route, and fails with ErrNoUnderlay if there is none. Its errors
// are clauses without advice: the caller knows what the MTU is for.
func (h *Host) UnderlayMTU(encapIP string) (int, error) {
	if ip := net.ParseIP(encapIP); ip != nil {
		mtu, err := h.mtuOfAddr(ip)
		if err != nil || mtu > 0 {
			return mtu, err
		}
	}
	index, err := h.defaultRouteDevice()
	if err != nil {
		return 0, err
	}
	if index == 0 {
		return 0, usererr.Errorf(ErrNoUnderlay, "", "ovn-encap-ip %q is not on a device of this host and there is no IPv4 default route", encapIP)
	}
	link, err := h.nl.LinkByIndex(index)
	if err != nil {
		return 0, kernelFailed(err, "look up the device of the default route")
	}
	return link.Attrs().MTU, nil
}

// mtuOfAddr returns the MTU of the non-loopback device holding ip, or 0.
func (h *Host) mtuOfAddr(ip net.IP) (int, error) {
	var addrs []netlink.Addr
	err := retryDump(func() (err error) { addrs, err = h.nl.AddrList(nil, netlink.FAMILY_ALL); return err })
	if err != nil {
		return 0, kernelFailed(err, "list addresses")
	}
	for _, a := range addrs {
		if !a.IP.Equal(ip) {
			continue
		}
		link, err := h.nl.LinkByIndex(a.LinkIndex)
		if err != nil {
			return 0, kernelFailed(err, "look up the device of %s", ip)
		}
		if link.Attrs().Flags&net.FlagLoopback != 0 {
			return 0, nil
		}
		return link.Attrs().MTU, nil
	}
	return 0, nil
}

// defaultRouteDevice returns the index of the device of the IPv4 default
// route in the main table, or 0 if there is none. For a multipath route
// the first next hop stands for all.
func (h *Host) defaultRouteDevice() (int, error) {
	var routes []netlink.Route
	err := retryDump(func() (err error) { routes, err = h.nl.RouteList(nil, netlink.FAMILY_V4); return err })
	if err != nil {
		return 0, kernelFailed(err, "list routes")
	}
	for _, r := range routes {
		if !isDefault(r.Dst) {
			continue
		}
		if r.LinkIndex > 0 {
			return r.LinkIndex, nil
		}
		if len(r.MultiPath) > 0 && r.MultiPath[0].LinkIndex > 0 {
			return r.MultiPath[0].LinkIndex, nil
		}
	}
	return 0, nil
}

// isDefault: netlink reports a default route's destination as nil or as
// 0.0.0.0/0 depending on version.
func isDefault(dst *net.IPNet) bool {
	if dst == nil {
		return true
	}
	ones, _ := dst.Mask.Size()
	return ones == 0 && dst.IP.IsUnspecified()
}
