package plugin

import (
	"context"
	"errors"

	"github.com/docker/go-plugins-helpers/ipam"
)

// errNoIPAM is what IPAM calls answer until the IPAM role lands.
var errNoIPAM = errors.New("the openvswitch IPAM driver is not available yet: create the network without --ipam-driver to use Docker's default IPAM")

func (s *Server) ipamRoutes() {
	// Docker asks for capabilities whenever the plugin is activated, even
	// for networks using its default IPAM; answer it so activation is quiet.
	handle(s, "/IpamDriver.GetCapabilities", func(context.Context, *empty) (*ipam.CapabilitiesResponse, error) {
		return &ipam.CapabilitiesResponse{}, nil
	})
	handle(s, "/IpamDriver.GetDefaultAddressSpaces", refuse[empty])
	handle(s, "/IpamDriver.RequestPool", refuse[ipam.RequestPoolRequest])
	handle(s, "/IpamDriver.ReleasePool", refuse[ipam.ReleasePoolRequest])
	handle(s, "/IpamDriver.RequestAddress", refuse[ipam.RequestAddressRequest])
	handle(s, "/IpamDriver.ReleaseAddress", refuse[ipam.ReleaseAddressRequest])
}

func refuse[Req any](context.Context, *Req) (*empty, error) { return nil, errNoIPAM }
