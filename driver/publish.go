package driver

import (
	"context"
	"net/netip"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// ProgramExternalConnectivity publishes the container's ports (docker run
// -p) on its routed network's router: Docker calls it after Join for the
// endpoint that gives the container its gateway, which on this driver is
// only ever a routed one (others leave the gateway, and -p, to
// docker_gwbridge). Called again, it makes the published ports exactly
// what it is given.
//
// Docker never shows what a remote driver published: docker port and
// docker ps read only its own drivers' bindings (docs/protocol.md), and
// for -p PORT it leaves the choice of host port to the driver with no way
// to hear it back. ovn-docker status lists them.
func (d *Driver) ProgramExternalConnectivity(ctx context.Context, req *network.ProgramExternalConnectivityRequest) error {
	cfg, err := ParsePublish(req)
	if err != nil {
		return err
	}
	defer d.locks.lock("ep/" + cfg.EndpointID)()
	if len(cfg.Bindings) == 0 {
		_, err := d.nb.Unpublish(ctx, cfg.EndpointID)
		return err
	}
	sw, err := d.nb.Switch(ctx, cfg.NetworkID)
	if err != nil {
		return networkNotFound(cfg.NetworkID, err)
	}
	if sw.Router == "" {
		return invalid("use -o ovn.router=NAME when creating the network",
			"network %s has no OVN router to publish ports on", shortID(cfg.NetworkID))
	}
	port, err := d.nb.Port(ctx, PortName(cfg.EndpointID))
	if err != nil {
		return endpointNotFound(cfg.EndpointID, err)
	}
	ip := firstIPv4(port.IPs)
	if !ip.IsValid() {
		return invalid("give the network an IPv4 subnet", "endpoint %s has no IPv4 address for its published ports to reach",
			shortID(cfg.EndpointID))
	}
	pub, err := d.nb.Publish(ctx, sw.Router, cfg.EndpointID, ip, cfg.Bindings)
	if err != nil {
		return err
	}
	for _, p := range pub {
		d.cfg.Log.WithField("endpoint", shortID(cfg.EndpointID)).WithField("router", sw.Router).Info("published " + p.String())
	}
	// The gateway chassis answers for the ports: once every chassis has the
	// load balancers, docker run returns with them reachable.
	d.waitChassis(ctx, cfg.EndpointID)
	return nil
}

// RevokeExternalConnectivity removes the endpoint's published ports.
func (d *Driver) RevokeExternalConnectivity(ctx context.Context, req *network.RevokeExternalConnectivityRequest) error {
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return err
	}
	defer d.locks.lock("ep/" + req.EndpointID)()
	_, err := d.nb.Unpublish(ctx, req.EndpointID)
	return err
}

func firstIPv4(ips []string) netip.Addr {
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			return a
		}
	}
	return netip.Addr{}
}

// publishedNB is the part of NB published ports need.
type publishedNB interface {
	Publish(ctx context.Context, router, endpointID string, ip netip.Addr, bs []nb.Binding) ([]nb.Published, error)
	Unpublish(ctx context.Context, endpointID string) (bool, error)
	PrunePublished(ctx context.Context) ([]string, error)
}
