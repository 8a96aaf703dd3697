package hostnet

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// VLAN describes a VLAN sub-interface to ensure: in a VM whose NIC is an
// OVN port, a container's interface is one, tagged with the tag OVN gave
// the container's nested port, so the hypervisor knows whose frame it is.
type VLAN struct {
	Name   string // ≤15 bytes; Docker moves it into the container
	Parent string // the VM's NIC
	Tag    int    // 1-4094
	MTU    int    // 0 keeps the parent's
	MAC    net.HardwareAddr
	Mark   string // written as its alias, as Veth.Mark
}

func (v VLAN) validate() error {
	if v.Name == "" || len(v.Name) > 15 {
		return fmt.Errorf("VLAN interface name %q must be 1 to 15 bytes", v.Name)
	}
	if v.Tag < 1 || v.Tag > 4094 {
		// northd may give 4095, which Linux cannot carry.
		return usererr.Errorf(nil, "disconnect the container from the network and connect it again",
			"VLAN tag %d of %s is not one Linux can use (1-4094)", v.Tag, v.Name)
	}
	return nil
}

// EnsureVLAN creates the sub-interface if missing and brings it up; one
// already there (a retried Join) must be ours, on that parent and tag. A
// device by that name that is something else is left alone and reported.
func (h *Host) EnsureVLAN(v VLAN) error {
	if err := v.validate(); err != nil {
		return err
	}
	parent, err := h.nl.LinkByName(v.Parent)
	if isNotFound(err) {
		return usererr.Errorf(nil, "check --uplink", "uplink %s does not exist in this host's network namespace", v.Parent)
	}
	if err != nil {
		return advise(kernelFailed(err, "look up device %s", v.Parent))
	}
	if parent.Attrs().Flags&net.FlagUp == 0 {
		// The kernel refuses to bring a VLAN up on a down parent, with
		// an errno that names neither.
		return usererr.Errorf(nil, "bring it up with ip link set "+v.Parent+" up",
			"uplink %s is down, so VLAN interface %s cannot come up", v.Parent, v.Name)
	}
	link, err := h.ownedLink(v.Name, v.Mark)
	if err != nil {
		return advise(err)
	}
	if link == nil {
		if link, err = h.createVLAN(v, parent.Attrs().Index); err != nil {
			return advise(err)
		}
	} else if err := checkVLAN(link, v, parent.Attrs().Index); err != nil {
		return err
	}
	if err := h.nl.LinkSetUp(link); err != nil {
		return advise(kernelFailed(err, "bring %s up", v.Name))
	}
	return nil
}

// createVLAN makes the sub-interface with its MAC, MTU and mark in one
// request.
func (h *Host) createVLAN(v VLAN, parent int) (netlink.Link, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.ParentIndex, attrs.HardwareAddr, attrs.Alias = v.Name, parent, v.MAC, v.Mark
	if v.MTU > 0 {
		attrs.MTU = v.MTU
	}
	link := &netlink.Vlan{LinkAttrs: attrs, VlanId: v.Tag, VlanProtocol: netlink.VLAN_PROTOCOL_8021Q}
	if err := h.nl.LinkAdd(link); err != nil {
		return nil, kernelFailed(err, "create VLAN interface %s (tag %d on %s)", v.Name, v.Tag, v.Parent)
	}
	// The alias is not part of RTM_NEWLINK for every kernel: set it again.
	if err := h.nl.LinkSetAlias(link, v.Mark); err != nil {
		_ = h.del(link)
		return nil, kernelFailed(err, "set the alias of %s", v.Name)
	}
	return link, nil
}

// checkVLAN refuses a marked device that is not the sub-interface wanted:
// a tag that changed would put the container on another port.
func checkVLAN(link netlink.Link, v VLAN, parent int) error {
	vl, ok := link.(*netlink.Vlan)
	if !ok || vl.ParentIndex != parent || vl.VlanId != v.Tag {
		return usererr.Errorf(nil, "disconnect the container from the network and connect it again",
			"device %s is not VLAN %d on %s", v.Name, v.Tag, v.Parent)
	}
	return nil
}

// LinkMTU is the MTU of the named device.
func (h *Host) LinkMTU(name string) (int, error) {
	link, err := h.nl.LinkByName(name)
	if isNotFound(err) {
		return 0, usererr.Errorf(nil, "check --uplink", "device %s does not exist in this host's network namespace", name)
	}
	if err != nil {
		return 0, advise(kernelFailed(err, "look up device %s", name))
	}
	return link.Attrs().MTU, nil
}
