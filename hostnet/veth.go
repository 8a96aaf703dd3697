package hostnet

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Veth describes a veth pair to ensure.
type Veth struct {
	HostName      string           // host end, stays in this namespace (≤15 bytes)
	PeerName      string           // other end; Docker moves it into the container
	MTU           int              // for both ends; 0 keeps the kernel's default
	PeerMAC       net.HardwareAddr // set on the peer when non-nil
	TxChecksumOff bool             // turn TX checksum offload off on both ends
}

// EnsureVeth creates the pair if missing and brings the host end up; if the
// pair exists (a retried call), its settings are applied again. A device by
// that name that is not such a veth is left alone and reported. A pair made
// by this call is deleted again if a later step fails.
func (h *Host) EnsureVeth(v Veth) (err error) {
	if len(v.HostName) > 15 || len(v.PeerName) > 15 || v.HostName == "" || v.PeerName == "" {
		return fmt.Errorf("veth names %q and %q must be 1 to 15 bytes", v.HostName, v.PeerName)
	}
	link, err := h.nl.LinkByName(v.HostName)
	switch {
	case isNotFound(err):
		if err := h.create(v); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				h.DeleteLink(v.HostName)
			}
		}()
	case err != nil:
		return fmt.Errorf("look up %s: %w", v.HostName, err)
	default:
		if _, ok := link.(*netlink.Veth); !ok {
			return fmt.Errorf("%s exists and is a %s device, not a veth; it was not made by ovn-docker", v.HostName, link.Type())
		}
	}
	return h.configure(v)
}

func (h *Host) create(v Veth) error {
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: v.HostName, MTU: v.MTU},
		PeerName:         v.PeerName,
		PeerHardwareAddr: v.PeerMAC,
	}
	if v.MTU > 0 {
		veth.PeerMTU = uint32(v.MTU)
	}
	if err := h.nl.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth pair %s/%s: %w", v.HostName, v.PeerName, err)
	}
	return nil
}

// configure applies the wanted settings to both ends. The peer may already
// be in a container (a retried Join): then only the host end is set.
func (h *Host) configure(v Veth) error {
	host, err := h.nl.LinkByName(v.HostName)
	if err != nil {
		return fmt.Errorf("look up %s: %w", v.HostName, err)
	}
	ends := []netlink.Link{host}
	peer, err := h.nl.LinkByName(v.PeerName)
	if err == nil {
		ends = append(ends, peer)
		if v.PeerMAC != nil && peer.Attrs().HardwareAddr.String() != v.PeerMAC.String() {
			if err := h.nl.LinkSetHardwareAddr(peer, v.PeerMAC); err != nil {
				return fmt.Errorf("set MAC of %s: %w", v.PeerName, err)
			}
		}
	} else if !isNotFound(err) {
		return fmt.Errorf("look up %s: %w", v.PeerName, err)
	}
	for _, l := range ends {
		if err := h.setEnd(l, v); err != nil {
			return err
		}
	}
	if err := h.nl.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring %s up: %w", v.HostName, err)
	}
	return nil
}

func (h *Host) setEnd(l netlink.Link, v Veth) error {
	name := l.Attrs().Name
	if v.MTU > 0 && l.Attrs().MTU != v.MTU {
		if err := h.nl.LinkSetMTU(l, v.MTU); err != nil {
			return fmt.Errorf("set MTU %d on %s: %w", v.MTU, name, err)
		}
	}
	if v.TxChecksumOff {
		return h.TxChecksumOff(name)
	}
	return nil
}

// DeleteLink deletes the named device if present; deleting one end of a
// veth removes both.
func (h *Host) DeleteLink(name string) error {
	link, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	// ENODEV: someone else deleted it between the lookup and now.
	if err := h.nl.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// LinkExists reports whether the named device exists.
func (h *Host) LinkExists(name string) (bool, error) {
	_, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// VethInfo is what reconciliation needs to know of one veth.
type VethInfo struct {
	Name string
	// PeerElsewhere: the other end is in another network namespace, which
	// for our veths means a container holds it.
	PeerElsewhere bool
	Retired       bool // in RetiredGroup, waiting for deletion
}

// Veths lists the veths whose names start with prefix.
func (h *Host) Veths(prefix string) ([]VethInfo, error) {
	links, err := h.nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []VethInfo
	for _, l := range links {
		v, ok := l.(*netlink.Veth)
		if !ok || !strings.HasPrefix(v.Name, prefix) {
			continue
		}
		// IFLA_LINK_NETNSID is reported only when the peer is in another
		// namespace; netlink leaves NetNsID at -1 otherwise.
		out = append(out, VethInfo{Name: v.Name, PeerElsewhere: v.NetNsID >= 0, Retired: v.Group == RetiredGroup})
	}
	return out, nil
}
