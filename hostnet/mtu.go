package hostnet

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// GeneveOverhead is what Geneve encapsulation adds to a packet: outer IP,
// UDP, Geneve header with OVN's option, and the inner Ethernet header, so a
// 1500-byte underlay leaves 1442 for the container over IPv4.
func GeneveOverhead(encapIP string) int {
	if ip := net.ParseIP(encapIP); ip != nil && ip.To4() == nil {
		return 78
	}
	return 58
}

// UnderlayMTU returns the MTU of the device that carries encapIP. When
// encapIP is empty, not on this host, or on loopback (single-host setups),
// it uses the device of the IPv4 default route, and 1500 if there is none.
func (h *Host) UnderlayMTU(encapIP string) (int, error) {
	if ip := net.ParseIP(encapIP); ip != nil {
		mtu, err := h.mtuOfAddr(ip)
		if err != nil || mtu > 0 {
			return mtu, err
		}
	}
	routes, err := h.nl.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return 0, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) && r.LinkIndex > 0 {
			link, err := h.nl.LinkByIndex(r.LinkIndex)
			if err != nil {
				return 0, fmt.Errorf("look up default route device: %w", err)
			}
			return link.Attrs().MTU, nil
		}
	}
	return 1500, nil
}

// mtuOfAddr returns the MTU of the non-loopback device holding ip, or 0.
func (h *Host) mtuOfAddr(ip net.IP) (int, error) {
	addrs, err := h.nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return 0, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if !a.IP.Equal(ip) {
			continue
		}
		link, err := h.nl.LinkByIndex(a.LinkIndex)
		if err != nil {
			return 0, fmt.Errorf("look up device of %s: %w", ip, err)
		}
		if link.Attrs().Flags&net.FlagLoopback != 0 {
			return 0, nil
		}
		return link.Attrs().MTU, nil
	}
	return 0, nil
}

func isZeroMask(m net.IPMask) bool {
	ones, _ := m.Size()
	return ones == 0
}
