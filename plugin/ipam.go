package plugin

import (
	"context"

	"github.com/docker/go-plugins-helpers/ipam"
)

// IPAM is the driver behind /IpamDriver.* calls.
type IPAM interface {
	Capabilities() *ipam.CapabilitiesResponse
	AddressSpaces() *ipam.AddressSpacesResponse
	RequestPool(context.Context, *ipam.RequestPoolRequest) (*ipam.RequestPoolResponse, error)
	ReleasePool(context.Context, *ipam.ReleasePoolRequest) error
	RequestAddress(context.Context, *ipam.RequestAddressRequest) (*ipam.RequestAddressResponse, error)
	ReleaseAddress(context.Context, *ipam.ReleaseAddressRequest) error
}

func (s *Server) ipamRoutes(im IPAM) {
	handle(s, "/IpamDriver.GetCapabilities", func(context.Context, *empty) (*ipam.CapabilitiesResponse, error) {
		return im.Capabilities(), nil
	})
	handle(s, "/IpamDriver.GetDefaultAddressSpaces", func(context.Context, *empty) (*ipam.AddressSpacesResponse, error) {
		return im.AddressSpaces(), nil
	})
	handle(s, "/IpamDriver.RequestPool", im.RequestPool)
	handle(s, "/IpamDriver.ReleasePool", none(im.ReleasePool))
	handle(s, "/IpamDriver.RequestAddress", im.RequestAddress)
	handle(s, "/IpamDriver.ReleaseAddress", none(im.ReleaseAddress))
}
