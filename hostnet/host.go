// Package hostnet is the only package that touches the host's network
// devices: veth pairs through netlink (which also answers the underlay MTU
// from addresses and routes), TX checksum offload through the ethtool
// ioctl. It never runs the ip or ethtool commands.
//
// Contract: "Ensure" calls create what is missing and bring what exists to
// the wanted state; "Delete" calls treat an absent device as done; so every
// call may be retried. A failed EnsureVeth leaves behind no pair that it
// made, and never deletes a device it did not make. Every operation happens
// in the Host's network namespace, fixed when the Host is made.
package hostnet

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Host performs link operations in one network namespace.
type Host struct {
	nl *netlink.Handle
	// raw carries the rtnetlink requests netlink.Handle cannot make
	// (group delete, peer lookup across namespaces).
	raw *nl.SocketHandle
	// fd is a socket for ethtool ioctls; a socket acts on the devices of
	// the namespace it was created in, so it is made inside the Host's one.
	fd int
}

// New returns a Host for the current network namespace.
func New() (*Host, error) {
	return newHost(netns.None(), ioctlSocket)
}

// NewInNamespace returns a Host acting inside ns (tests use throwaway ones).
// The Host does not take ownership of ns.
func NewInNamespace(ns netns.NsHandle) (*Host, error) {
	return newHost(ns, func() (int, error) { return socketIn(ns) })
}

// newHost opens the Host's sockets in ns; netns.None() means the current
// namespace, which netlink's *At functions then leave alone.
func newHost(ns netns.NsHandle, socket func() (int, error)) (*Host, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	fd, err := socket()
	if err != nil {
		h.Close()
		s.Close()
		return nil, err
	}
	return &Host{nl: h, raw: &nl.SocketHandle{Socket: s}, fd: fd}, nil
}

// socketIn creates the ioctl socket inside ns. It switches a thread of its
// own and never unlocks it: the goroutine ends locked, so the runtime
// destroys the thread instead of handing it, still in ns, to other code.
func socketIn(ns netns.NsHandle) (int, error) {
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			done <- result{-1, fmt.Errorf("enter namespace: %w", err)}
			return
		}
		fd, err := ioctlSocket()
		done <- result{fd, err}
	}()
	r := <-done
	return r.fd, r.err
}

func ioctlSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open ioctl socket: %w", err)
	}
	return fd, nil
}

// Close releases the Host's sockets.
func (h *Host) Close() {
	h.nl.Close()
	h.raw.Close()
	unix.Close(h.fd)
}

// request starts an rtnetlink request on the Host's raw socket.
func (h *Host) request(msgType, flags int) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(msgType, flags)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: h.raw}
	return req
}
