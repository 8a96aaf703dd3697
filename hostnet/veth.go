package hostnet

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// Veth describes a veth pair to ensure.
type Veth struct {
	HostName      string           // host end, stays in this namespace (≤15 bytes)
	PeerName      string           // other end; Docker moves it into the container (≤15 bytes)
	MTU           int              // for both ends; 0 keeps the kernel's default
	PeerMAC       net.HardwareAddr // set on the peer when non-nil
	TxChecksumOff bool             // turn TX checksum offload off on both ends
	// Mark is written as the host end's alias (IFLA_IFALIAS): the
	// ownership mark that DeleteLink, Retire and Veths go by, so nothing
	// that merely shares the naming pattern is ever touched.
	Mark string
}

func (v Veth) validate() error {
	for _, name := range []string{v.HostName, v.PeerName} {
		if name == "" || len(name) > 15 {
			return fmt.Errorf("veth name %q must be 1 to 15 bytes", name)
		}
	}
	if v.HostName == v.PeerName {
		return fmt.Errorf("veth ends must have different names, both are %q", v.HostName)
	}
	return nil
}

// EnsureVeth creates the pair if missing and brings the host end up; if
// the pair exists (a retried call), its settings are applied again. A
// device by that name that is not this pair is left alone and reported. A
// pair made by this call is deleted again if a later step fails.
func (h *Host) EnsureVeth(v Veth) error {
	if err := v.validate(); err != nil {
		return err
	}
	created, err := h.ensurePair(v)
	if err != nil {
		return advise(err)
	}
	if err := h.configure(v); err != nil {
		if !created {
			return advise(err)
		}
		if rerr := h.deleteLink(v.HostName); rerr != nil {
			return usererr.Errorf(nil, "remove the pair with ip link del "+v.HostName+" and try again",
				"%s, and removing the new pair again failed too (%w)", usererr.What(err), rerr)
		}
		return advise(err)
	}
	return nil
}

// ensurePair creates the pair or checks that the existing HostName is it,
// and reports whether it created it.
func (h *Host) ensurePair(v Veth) (bool, error) {
	link, err := h.nl.LinkByName(v.HostName)
	if isNotFound(err) {
		if err := h.create(v); err != nil {
			return false, err
		}
		return true, nil
	}
	if err != nil {
		return false, kernelFailed(err, "look up device %s", v.HostName)
	}
	return false, h.checkPair(link, v)
}

// create makes the pair with its MTU and the peer's MAC already set, so
// that configure, which runs for new and existing pairs alike, finds
// nothing left to change: each change it would make is a netlink round trip
// under the RTNL lock, on the path of every docker run. The constructors
// matter: a zero LinkAttrs would ask for a transmit queue length of 0.
func (h *Host) create(v Veth) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = v.HostName
	attrs.Alias = v.Mark
	if v.MTU > 0 {
		attrs.MTU = v.MTU
	}
	veth := netlink.NewVeth(attrs)
	veth.PeerName = v.PeerName
	veth.PeerHardwareAddr = v.PeerMAC
	if v.MTU > 0 {
		veth.PeerMTU = uint32(v.MTU)
	}
	if err := h.nl.LinkAdd(veth); err != nil {
		return kernelFailed(err, "create veth pair %s/%s", v.HostName, v.PeerName)
	}
	return nil
}

// checkPair refuses an existing HostName unless it is a veth whose peer is
// PeerName: anything else was not made by us for this endpoint.
func (h *Host) checkPair(link netlink.Link, v Veth) error {
	veth, ok := link.(*netlink.Veth)
	if !ok {
		return notOurPair(v.HostName, "a %s device, not a veth", link.Type())
	}
	peer, err := h.peerName(veth)
	if err != nil {
		return err
	}
	if peer != v.PeerName {
		return notOurPair(v.HostName, "a veth whose peer is %s, not %s", peer, v.PeerName)
	}
	return nil
}

// notOurPair refuses a device that holds the name of the pair to be made.
func notOurPair(name, format string, args ...any) error {
	return usererr.Errorf(nil, "remove it with ip link del "+name+" if nothing else uses it",
		"device %s exists and is %s, so ovn-docker did not make it", name, fmt.Sprintf(format, args...))
}

// configure applies the wanted settings to both ends. The peer may already
// be in a container (a retried Join): then only the host end is set, and a
// local device that happens to carry PeerName is not touched.
func (h *Host) configure(v Veth) error {
	link, err := h.nl.LinkByName(v.HostName)
	if err != nil {
		return kernelFailed(err, "look up device %s", v.HostName)
	}
	veth, ok := link.(*netlink.Veth)
	if !ok {
		return notOurPair(v.HostName, "a %s device, not a veth", link.Type())
	}
	if err := h.setEnd(veth, v); err != nil {
		return err
	}
	if v.Mark != "" && veth.Alias != v.Mark {
		if err := h.nl.LinkSetAlias(veth, v.Mark); err != nil {
			return kernelFailed(err, "set the alias of %s", v.HostName)
		}
	}
	if !peerElsewhere(veth) {
		if err := h.configurePeer(veth.ParentIndex, v); err != nil {
			return err
		}
	}
	if err := h.nl.LinkSetUp(veth); err != nil {
		return kernelFailed(err, "bring %s up", v.HostName)
	}
	return nil
}

func (h *Host) configurePeer(index int, v Veth) error {
	peer, err := h.nl.LinkByIndex(index)
	if err != nil {
		return kernelFailed(err, "look up device %s", v.PeerName)
	}
	if v.PeerMAC != nil && peer.Attrs().HardwareAddr.String() != v.PeerMAC.String() {
		if err := h.nl.LinkSetHardwareAddr(peer, v.PeerMAC); err != nil {
			return kernelFailed(err, "set MAC %s on %s", v.PeerMAC, v.PeerName)
		}
	}
	return h.setEnd(peer, v)
}

func (h *Host) setEnd(l netlink.Link, v Veth) error {
	name := l.Attrs().Name
	if v.MTU > 0 && l.Attrs().MTU != v.MTU {
		if err := h.nl.LinkSetMTU(l, v.MTU); err != nil {
			return kernelFailed(err, "set MTU %d on %s", v.MTU, name)
		}
	}
	if v.TxChecksumOff {
		return h.txChecksumOff(name)
	}
	return nil
}
