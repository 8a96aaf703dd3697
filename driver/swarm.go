package driver

import (
	"maps"
	"regexp"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// Swarm networks (docker network create --scope swarm). Their ID is the
// swarm's, the same on every node, so it names one logical switch for all
// of them, as ovn.network does for per-host networks. Only a driver whose
// capabilities say global scope gets the network's settings on every node:
// the manager calls AllocateNetwork with the user's -o options and the
// subnets its IPAM gave, and what AllocateNetwork returns is all the
// options a node's CreateNetwork receives. A local-scope driver's nodes get
// a swarm network with no options and a subnet of their own choosing, which
// cannot make one network (docs/multihost.md#swarm).

// swarmID is how swarmkit writes IDs (identity.NewID): 25 base-36 digits.
// Docker's own network IDs are 64 hexadecimal digits.
var swarmID = regexp.MustCompile(`^[0-9a-z]{25}$`)

// IsSwarmID tells a swarm network's ID from an engine's own.
func IsSwarmID(id string) bool { return swarmID.MatchString(id) }

// swarmSwitchName is a swarm network's switch when no ovn.network names it:
// "docker-" names are the driver's own, and 25 characters cannot collide
// with a per-host switch's 12.
func swarmSwitchName(networkID string) string { return "docker-" + networkID }

// AllocateNetwork runs on the swarm's leading manager, once per network
// and again after every change of leader. It returns the user's options
// unchanged: they are what every node's CreateNetwork receives. Docker
// does not show a failure here to the user (the network would just stay
// unallocated), so options are judged where Docker does show it, in the
// nodes' CreateNetwork; here they are only logged.
func (d *Driver) AllocateNetwork(req *network.AllocateNetworkRequest) *network.AllocateNetworkResponse {
	opts := maps.Clone(req.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	log := d.cfg.Log.WithField("network", req.NetworkID)
	if _, err := ParseNetwork(allocatedRequest(req)); err != nil {
		log.WithError(err).Warn("swarm network allocated with options its nodes will refuse")
	} else {
		log.WithField("options", opts).Info("swarm network allocated")
	}
	return &network.AllocateNetworkResponse{Options: opts}
}

// allocatedRequest is the CreateNetwork request a node will receive for
// an AllocateNetwork request.
func allocatedRequest(req *network.AllocateNetworkRequest) *network.CreateNetworkRequest {
	generic := make(map[string]any, len(req.Options))
	for k, v := range req.Options {
		generic[k] = v
	}
	out := &network.CreateNetworkRequest{NetworkID: req.NetworkID, Options: map[string]any{optGeneric: generic}}
	for i := range req.IPv4Data {
		out.IPv4Data = append(out.IPv4Data, &req.IPv4Data[i])
	}
	for i := range req.IPv6Data {
		out.IPv6Data = append(out.IPv6Data, &req.IPv6Data[i])
	}
	return out
}

// FreeNetwork runs on the leading manager once the swarm network is
// removed. Nothing waits on it: each node let go of the switch in its
// DeleteNetwork, and reconciliation does it for a node that never could.
func (d *Driver) FreeNetwork(req *network.FreeNetworkRequest) {
	d.cfg.Log.WithField("network", req.NetworkID).Info("swarm network freed")
}

// swarmShared names the switch of a swarm network, or refuses it when the
// driver runs with local scope and nothing else names it.
func (d *Driver) swarmShared(cfg NetworkConfig) (string, error) {
	switch {
	case cfg.Shared != "" || !IsSwarmID(cfg.ID):
		return cfg.Shared, nil
	case d.cfg.Swarm:
		return swarmSwitchName(cfg.ID), nil
	}
	return "", usererr.Errorf(ErrInvalid,
		"set OVN_DOCKER_SCOPE=swarm on the plugin of every node (docker plugin disable, set, enable), or give each node "+
			"a --config-only network with -o "+OptNetwork+"=NAME and create the swarm network with --config-from it",
		"network %s is a swarm network, but this plugin runs with local scope, so the swarm manager sends this node "+
			"none of its settings (--subnet, -o)", cfg.ID)
}

// GetCapabilities: networks are created per engine (local scope), but the
// switch they map to can span hosts, so connectivity is global. With
// --scope swarm the swarm manager allocates every network (global scope).
func (d *Driver) GetCapabilities() *Capabilities {
	scope := network.LocalScope
	if d.cfg.Swarm {
		scope = network.GlobalScope
	}
	return &Capabilities{Scope: scope, ConnectivityScope: network.GlobalScope, GwAllocChecker: true}
}
