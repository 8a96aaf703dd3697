package plugin

import (
	"context"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/driver"
)

// NetworkDriver is the driver behind /NetworkDriver.* calls.
type NetworkDriver interface {
	GetCapabilities() *driver.Capabilities
	CreateNetwork(context.Context, *network.CreateNetworkRequest) error
	DeleteNetwork(context.Context, *network.DeleteNetworkRequest) error
	AllocateNetwork(*network.AllocateNetworkRequest) *network.AllocateNetworkResponse
	FreeNetwork(*network.FreeNetworkRequest)
	CreateEndpoint(context.Context, *network.CreateEndpointRequest) (*network.CreateEndpointResponse, error)
	EndpointOperInfo(context.Context, *network.InfoRequest) (*network.InfoResponse, error)
	DeleteEndpoint(context.Context, *network.DeleteEndpointRequest) error
	Join(context.Context, *network.JoinRequest) (*driver.JoinResponse, error)
	GwAllocCheck(context.Context, *driver.GwAllocCheckRequest) (*driver.GwAllocCheckResponse, error)
	Leave(context.Context, *network.LeaveRequest) error
	ProgramExternalConnectivity(context.Context, *network.ProgramExternalConnectivityRequest) error
	RevokeExternalConnectivity(context.Context, *network.RevokeExternalConnectivityRequest) error
}

type empty struct{}

// none adapts a call that answers nothing but an error.
func none[Req any](fn func(context.Context, *Req) error) func(context.Context, *Req) (*empty, error) {
	return func(ctx context.Context, r *Req) (*empty, error) { return &empty{}, fn(ctx, r) }
}

// ignore answers success without acting.
func ignore[Req any](context.Context, *Req) (*empty, error) { return &empty{}, nil }

func (s *Server) networkRoutes(d NetworkDriver) {
	handle(s, "/NetworkDriver.GetCapabilities", func(context.Context, *empty) (*driver.Capabilities, error) {
		return d.GetCapabilities(), nil
	})
	handle(s, "/NetworkDriver.CreateNetwork", none(d.CreateNetwork))
	handle(s, "/NetworkDriver.DeleteNetwork", none(d.DeleteNetwork))
	handle(s, "/NetworkDriver.AllocateNetwork", func(_ context.Context, r *network.AllocateNetworkRequest) (*network.AllocateNetworkResponse, error) {
		return d.AllocateNetwork(r), nil
	})
	handle(s, "/NetworkDriver.FreeNetwork", func(_ context.Context, r *network.FreeNetworkRequest) (*empty, error) {
		d.FreeNetwork(r)
		return &empty{}, nil
	})
	handle(s, "/NetworkDriver.CreateEndpoint", d.CreateEndpoint)
	handle(s, "/NetworkDriver.EndpointOperInfo", d.EndpointOperInfo)
	handle(s, "/NetworkDriver.DeleteEndpoint", none(d.DeleteEndpoint))
	handle(s, "/NetworkDriver.Join", d.Join)
	handle(s, "/NetworkDriver.Leave", none(d.Leave))
	// Discovery is for swarm-scoped drivers: nothing to do.
	handle(s, "/NetworkDriver.DiscoverNew", ignore[network.DiscoveryNotification])
	handle(s, "/NetworkDriver.DiscoverDelete", ignore[network.DiscoveryNotification])
	handle(s, "/NetworkDriver.ProgramExternalConnectivity", none(d.ProgramExternalConnectivity))
	handle(s, "/NetworkDriver.RevokeExternalConnectivity", none(d.RevokeExternalConnectivity))
	// Current engines ask this before reserving gateway addresses, because
	// GetCapabilities declares GwAllocChecker.
	handle(s, "/NetworkDriver.GwAllocCheck", d.GwAllocCheck)
}
