package hostnet

import (
	"errors"
	"fmt"
	"sync"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// RetiredGroup is the device group (ip link ... group N) that marks veths
// waiting to be deleted. Deleting a veth costs the kernel an RCU grace
// period (about 20 ms) under the RTNL lock, stalling every other link
// operation; deleting a whole group costs about the same once, whatever
// its size. The value spells "OVD" and is unlikely to collide.
const RetiredGroup = 0x4f564400

// retirer deletes the retired group through its own netlink socket, opened
// in the Host's namespace (netlink.Handle has no group delete).
type retirer struct {
	mu   sync.Mutex
	sock *nl.SocketHandle
}

func newRetirer(ns netns.NsHandle) (*retirer, error) {
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	return &retirer{sock: &nl.SocketHandle{Socket: s}}, nil
}

func (r *retirer) close() { r.sock.Close() }

// Retire marks the named device for the next DeleteRetired; an absent
// device is success.
func (h *Host) Retire(name string) error {
	link, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if err := h.nl.LinkSetGroup(link, RetiredGroup); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("retire %s: %w", name, err)
	}
	return nil
}

// DeleteRetired deletes every retired device (and the peers of veths) in
// one kernel batch. No retired device is success.
func (h *Host) DeleteRetired() error {
	h.ret.mu.Lock()
	defer h.ret.mu.Unlock()
	req := &nl.NetlinkRequest{
		NlMsghdr: unix.NlMsghdr{Len: unix.SizeofNlMsghdr, Type: unix.RTM_DELLINK,
			Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK},
		Sockets: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: h.ret.sock},
	}
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(RetiredGroup)))
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete retired veths: %w", err)
	}
	return nil
}
