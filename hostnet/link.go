package hostnet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

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
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", name, err)
	}
	return true, nil
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
		out = append(out, VethInfo{Name: v.Name, PeerElsewhere: peerElsewhere(v), Retired: v.Group == RetiredGroup})
	}
	return out, nil
}

// peerElsewhere: the kernel reports IFLA_LINK_NETNSID only when the peer is
// in another namespace; netlink leaves NetNsID at -1 otherwise.
func peerElsewhere(v *netlink.Veth) bool { return v.NetNsID >= 0 }
