package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// CreateEndpoint makes the endpoint's logical port on its network's switch,
// bound to this chassis. When Docker sent no MAC, the reply carries the one
// chosen; fields Docker set are never echoed back changed.
func (d *Driver) CreateEndpoint(ctx context.Context, req *network.CreateEndpointRequest) (*network.CreateEndpointResponse, error) {
	cfg, err := ParseEndpoint(req)
	if err != nil {
		return nil, err
	}
	defer d.locks.lock("ep/" + cfg.EndpointID)()
	sw, err := d.nb.Switch(ctx, cfg.NetworkID)
	if err != nil {
		return nil, networkNotFound(cfg.NetworkID, err)
	}
	if err := checkInSubnets(cfg, sw.Subnets); err != nil {
		return nil, err
	}
	if err := d.checkUnique(ctx, cfg, sw); err != nil {
		return nil, err
	}
	port := nb.Port{
		Name: PortName(cfg.EndpointID), NetworkID: cfg.NetworkID,
		EndpointID: cfg.EndpointID, MAC: cfg.MAC.String(), IPs: cfg.IPs(), IfName: cfg.IfName,
		Exposed: cfg.Exposed,
	}
	if err := d.portHome(ctx, &port); err != nil {
		return nil, err
	}
	if _, err := d.nb.EnsurePort(ctx, sw, port); err != nil {
		return nil, networkNotFound(cfg.NetworkID, err)
	}
	d.crashPoint("create-endpoint")
	resp := &network.CreateEndpointResponse{}
	if !cfg.MACGiven {
		resp.Interface = &network.EndpointInterface{MacAddress: cfg.MAC.String()}
	}
	return resp, nil
}

// checkInSubnets refuses addresses outside the network: OVN port security
// would silently drop all their traffic.
func checkInSubnets(cfg EndpointConfig, subnets []string) error {
	for _, addr := range []netip.Prefix{cfg.IPv4, cfg.IPv6} {
		if !addr.IsValid() {
			continue
		}
		if !inAny(addr.Addr(), subnets) {
			return invalid("choose an --ip inside them", "address %s is outside the subnets of network %s (%s)",
				addr.Addr(), shortID(cfg.NetworkID), strings.Join(subnets, ", "))
		}
	}
	return nil
}

// endpointNotFound turns a missing logical port into the sentence users see.
func endpointNotFound(endpointID string, err error) error {
	if errors.Is(err, ovs.ErrNotFound) {
		return usererr.Wrap(ovs.ErrNotFound, err, "disconnect the container from the network and connect it again",
			"endpoint %s is not known to the openvswitch driver: OVN has no logical port for it", shortID(endpointID))
	}
	return err
}

func inAny(a netip.Addr, subnets []string) bool {
	for _, s := range subnets {
		if p, err := netip.ParsePrefix(s); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

// DeleteEndpoint removes the logical port, and the host side too in case
// Leave never came (Docker only logs a failed Leave and moves on).
func (d *Driver) DeleteEndpoint(ctx context.Context, req *network.DeleteEndpointRequest) error {
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return err
	}
	defer d.locks.lock("ep/" + req.EndpointID)()
	if err := d.detach(ctx, req.EndpointID); err != nil {
		return err
	}
	d.crashPoint("delete-endpoint")
	// Revoke comes first when Docker is well; not when the plugin was down.
	if _, err := d.nb.Unpublish(ctx, req.EndpointID); err != nil {
		return err
	}
	_, err := d.nb.DeletePort(ctx, PortName(req.EndpointID))
	return err
}

// EndpointOperInfo reports where the endpoint lives in OVN and OVS.
func (d *Driver) EndpointOperInfo(ctx context.Context, req *network.InfoRequest) (*network.InfoResponse, error) {
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return nil, err
	}
	p, err := d.nb.Port(ctx, PortName(req.EndpointID))
	if err != nil {
		return nil, endpointNotFound(req.EndpointID, err)
	}
	v := map[string]string{
		"logical_switch": SwitchName(p.NetworkID), "logical_port": p.Name, "mac": p.MAC,
		"chassis": p.Chassis, "up": fmt.Sprint(p.Up), "ovs_interface": HostIfName(req.EndpointID),
	}
	if d.cfg.Nested != nil {
		v["parent"], v["tag"] = p.Parent, fmt.Sprint(p.Tag)
		delete(v, "ovs_interface")
	} else if i, err := d.ovs.Interface(ctx, HostIfName(req.EndpointID)); err == nil {
		v["ovn_installed"] = fmt.Sprint(i.Installed)
	}
	return &network.InfoResponse{Value: v}, nil
}

// checkUnique refuses, on a network shared by hosts, an address another
// host's endpoint holds: with Docker's own IPAM each host's engine hands
// out addresses on its own.
func (d *Driver) checkUnique(ctx context.Context, cfg EndpointConfig, sw *nb.Switch) error {
	if sw.Shared == "" {
		return nil
	}
	for _, ip := range cfg.IPs() {
		p, err := d.nb.PortWithAddress(ctx, sw, ip, cfg.EndpointID)
		if err != nil {
			return err
		}
		if p != nil {
			where := "on chassis " + p.Chassis
			if p.Parent != "" {
				where = "in the VM on logical port " + p.Parent
			}
			return usererr.Errorf(ErrInvalid, "give each host its own --ip-range, or use --ipam-driver openvswitch with --ipam-opt ovn.network="+sw.Shared,
				"address %s is already used on OVN network %s by endpoint %s %s", ip, sw.Shared, shortID(p.EndpointID), where)
		}
	}
	return nil
}
