// Package hostnet is the only package that touches the host's network
// devices: veth pairs through netlink, and TX checksum offload through the
// ethtool ioctl (never the ip or ethtool commands).
//
// Contract: "Ensure" calls create what is missing and bring what exists to
// the wanted state, "Delete" calls treat an absent device as done, so any
// call may be retried; a failed EnsureVeth leaves no pair behind; every
// operation happens in the Host's network namespace.
package hostnet

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Host performs link operations in one network namespace.
type Host struct {
	nl  *netlink.Handle
	ret *retirer
	// fd is a socket for ethtool ioctls; a socket acts on devices of the
	// namespace it was created in, so it is made inside the Host's one.
	fd int
}

// New returns a Host for the current network namespace.
func New() (*Host, error) {
	nl, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	return newHost(nl, netns.None(), ioctlSocket)
}

func newHost(nl *netlink.Handle, ns netns.NsHandle, socket func() (int, error)) (*Host, error) {
	ret, err := newRetirer(ns)
	if err != nil {
		nl.Close()
		return nil, err
	}
	fd, err := socket()
	if err != nil {
		nl.Close()
		ret.close()
		return nil, err
	}
	return &Host{nl: nl, ret: ret, fd: fd}, nil
}

// NewInNamespace returns a Host acting inside ns (tests use throwaway ones).
func NewInNamespace(ns netns.NsHandle) (*Host, error) {
	nl, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("open netlink in namespace: %w", err)
	}
	return newHost(nl, ns, func() (int, error) { return socketIn(ns) })
}

// socketIn creates the ioctl socket inside ns: the thread enters ns just for
// the socket call and returns to where it was.
func socketIn(ns netns.NsHandle) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return -1, fmt.Errorf("get current namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		return -1, fmt.Errorf("enter namespace: %w", err)
	}
	fd, sockErr := ioctlSocket()
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in ns; keeping it locked makes the runtime
		// discard it instead of reusing it.
		runtime.LockOSThread()
		if sockErr == nil {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("return to original namespace: %w", err)
	}
	return fd, sockErr
}

func ioctlSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open ioctl socket: %w", err)
	}
	return fd, nil
}

// Close releases the Host's handles.
func (h *Host) Close() {
	h.nl.Close()
	h.ret.close()
	unix.Close(h.fd)
}
