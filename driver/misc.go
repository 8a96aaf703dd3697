package driver

import (
	"github.com/docker/go-plugins-helpers/network"
)

// AllocateNetwork and FreeNetwork are for swarm-scoped drivers; this one is
// local-scoped, so there is nothing to allocate.
func (d *Driver) AllocateNetwork(*network.AllocateNetworkRequest) *network.AllocateNetworkResponse {
	return &network.AllocateNetworkResponse{Options: map[string]string{}}
}

// FreeNetwork: see AllocateNetwork.
func (d *Driver) FreeNetwork(*network.FreeNetworkRequest) {}
