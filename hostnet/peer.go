package hostnet

import (
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// peerName returns the name of the other end of v, wherever it is.
func (h *Host) peerName(v *netlink.Veth) (string, error) {
	if !peerElsewhere(v) {
		peer, err := h.nl.LinkByIndex(v.ParentIndex)
		if err != nil {
			return "", kernelFailed(err, "look up the peer of %s", v.Name)
		}
		return peer.Attrs().Name, nil
	}
	name, err := h.remoteLinkName(v.NetNsID, v.ParentIndex)
	if usererr.IsSentence(err) {
		return "", err
	}
	if err != nil {
		return "", kernelFailed(err, "look up the peer of %s in namespace id %d", v.Name, v.NetNsID)
	}
	return name, nil
}

// remoteLinkName asks for a device in the namespace the Host knows by
// nsid, as `ip link show target-nsid` does; netlink.Handle cannot, and
// once Docker has moved a peer into a container that is the only way to
// learn its name without entering the container.
func (h *Host) remoteLinkName(nsid, index int) (string, error) {
	req := h.request(unix.RTM_GETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_TARGET_NETNSID, nl.Uint32Attr(uint32(nsid))))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return "", err
	}
	if len(msgs) != 1 {
		return "", fmt.Errorf("kernel returned %d links", len(msgs))
	}
	return targetLinkName(msgs[0])
}

// targetLinkName reads IFLA_IFNAME from an RTM_NEWLINK reply. Kernels
// before 4.20 ignore IFLA_TARGET_NETNSID and answer for the local device
// with that index, so a reply that does not echo the attribute is refused.
func targetLinkName(m []byte) (string, error) {
	info := nl.DeserializeIfInfomsg(m)
	attrs, err := nl.ParseRouteAttr(m[info.Len():])
	if err != nil {
		return "", fmt.Errorf("parse link reply: %w", err)
	}
	var name string
	targeted := false
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFLA_IFNAME:
			name = strings.TrimRight(string(a.Value), "\x00")
		case unix.IFLA_TARGET_NETNSID:
			targeted = true
		}
	}
	if !targeted {
		return "", usererr.Errorf(nil, "use Linux 4.20 or newer",
			"this kernel cannot look up devices in other network namespaces, which ovn-docker needs to check a veth whose peer is in a container")
	}
	return name, nil
}
