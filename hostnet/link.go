package hostnet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// Errors name the device and say what the kernel answered. Helpers return
// clauses ("the kernel failed to …"); exported methods add the advice with
// advise, so a clause can still be extended (see EnsureVeth's rollback).

// kernelFailed reports a netlink or ioctl request the kernel refused.
func kernelFailed(err error, format string, args ...any) error {
	return fmt.Errorf("the kernel failed to %s (%w)", fmt.Sprintf(format, args...), err)
}

// advise finishes what an exported method returns: a failure that has no
// advice of its own is worth retrying, since the kernel's state changes.
func advise(err error) error { return usererr.WithHint(err, "try again") }

// ErrNotOurs means a device has the name asked for but not our mark.
var ErrNotOurs = errors.New("does not carry ovn-docker's mark")

// DeleteLink deletes the named device if present and marked mark (its
// alias, see Veth.Mark); deleting one end of a veth removes both. A device
// by that name without the mark is left alone and reported (ErrNotOurs).
func (h *Host) DeleteLink(name, mark string) error {
	link, err := h.ownedLink(name, mark)
	if err != nil || link == nil {
		return advise(err)
	}
	return advise(h.del(link))
}

// ownedLink looks name up and checks its mark; absent is (nil, nil).
func (h *Host) ownedLink(name, mark string) (netlink.Link, error) {
	link, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, kernelFailed(err, "look up device %s", name)
	}
	if link.Attrs().Alias != mark {
		return nil, usererr.Errorf(ErrNotOurs, "remove it with ip link del "+name+" if nothing else uses it",
			"device %s does not carry ovn-docker's mark (its alias is %q), so it was left alone", name, link.Attrs().Alias)
	}
	return link, nil
}

// deleteLink deletes the named device, marked or not: only for a pair this
// very call created.
func (h *Host) deleteLink(name string) error {
	link, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return kernelFailed(err, "look up device %s", name)
	}
	return h.del(link)
}

func (h *Host) del(link netlink.Link) error {
	name := link.Attrs().Name
	// ENODEV: someone else deleted it between the lookup and now.
	if err := h.nl.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return kernelFailed(err, "delete device %s", name)
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
		return false, advise(kernelFailed(err, "look up device %s", name))
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
	Retired       bool   // in RetiredGroup, waiting for deletion
	Mark          string // the alias; ours carry Veth.Mark
}

// Veths lists the veths whose names start with prefix.
func (h *Host) Veths(prefix string) ([]VethInfo, error) {
	var links []netlink.Link
	err := retryDump(func() (err error) { links, err = h.nl.LinkList(); return err })
	if err != nil {
		return nil, advise(kernelFailed(err, "list devices"))
	}
	var out []VethInfo
	for _, l := range links {
		v, ok := l.(*netlink.Veth)
		if !ok || !strings.HasPrefix(v.Name, prefix) {
			continue
		}
		out = append(out, VethInfo{Name: v.Name, PeerElsewhere: peerElsewhere(v), Retired: v.Group == RetiredGroup, Mark: v.Alias})
	}
	return out, nil
}

// peerElsewhere: the kernel reports IFLA_LINK_NETNSID only when the peer is
// in another namespace; netlink leaves NetNsID at -1 otherwise.
func peerElsewhere(v *netlink.Veth) bool { return v.NetNsID >= 0 }

// dumpTries bounds how often a dump the kernel interrupted (the link table
// changed while it was being read) is asked for again: a partial list
// would make devices in use look absent.
const dumpTries = 10

func retryDump(dump func() error) error {
	var err error
	for i := 0; i < dumpTries; i++ {
		if err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
	}
	return fmt.Errorf("every one of %d dumps was interrupted: %w", dumpTries, err)
}
