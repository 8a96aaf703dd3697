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

// GwAllocCheckResponse answers Docker 28's GwAllocCheck: Docker's IPAM
// keeps reserving gateway addresses, which this driver records but does not
// yet plumb (no OVN router yet).
type GwAllocCheckResponse struct {
	SkipIPv4 bool
	SkipIPv6 bool
}
