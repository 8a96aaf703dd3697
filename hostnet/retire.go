package hostnet

import (
	"errors"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// RetiredGroup is the device group (ip link ... group N) that marks veths
// waiting to be deleted. Deleting a veth costs the kernel an RCU grace
// period (about 20 ms) under the RTNL lock, stalling every other link
// operation; deleting a whole group costs about the same once, whatever
// its size. The value spells "OVD" and is unlikely to collide.
const RetiredGroup = 0x4f564400

// Retire marks the named device for the next DeleteRetired, provided it
// carries mark (see DeleteLink); an absent device is success.
func (h *Host) Retire(name, mark string) error {
	link, err := h.ownedLink(name, mark)
	if err != nil || link == nil {
		return advise(err)
	}
	if err := h.nl.LinkSetGroup(link, RetiredGroup); err != nil && !errors.Is(err, unix.ENODEV) {
		return advise(kernelFailed(err, "move device %s into the group of retired devices", name))
	}
	return nil
}

// DeleteRetired deletes every retired device (and the peers of veths) in
// one kernel batch. No retired device is success. netlink.Handle has no
// group delete, hence the raw request.
func (h *Host) DeleteRetired() error {
	req := h.request(unix.RTM_DELLINK, unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, nl.Uint32Attr(RetiredGroup)))
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil && !errors.Is(err, unix.ENODEV) {
		return advise(kernelFailed(err, "delete the retired veths"))
	}
	return nil
}
