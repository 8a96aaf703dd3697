package driver

import (
	"context"

	"github.com/docker/go-plugins-helpers/network"
)

// The protocol grew after go-plugins-helpers' types were written: these
// carry what current engines read (GwAllocChecker, DstName) and 20.10
// ignores.

// Capabilities answers /NetworkDriver.GetCapabilities.
type Capabilities struct {
	Scope             string
	ConnectivityScope string
	// GwAllocChecker makes current engines ask GwAllocCheck before they
	// reserve gateway addresses.
	GwAllocChecker bool
}

// InterfaceName tells Docker which device to move into the container and
// what to call it there: DstName exactly (current engines), or DstPrefix
// and an index.
type InterfaceName struct {
	SrcName   string
	DstPrefix string
	DstName   string `json:",omitempty"`
}

// JoinResponse answers /NetworkDriver.Join.
type JoinResponse struct {
	InterfaceName         InterfaceName
	Gateway               string                 `json:",omitempty"`
	GatewayIPv6           string                 `json:",omitempty"`
	StaticRoutes          []*network.StaticRoute `json:",omitempty"`
	DisableGatewayService bool                   `json:",omitempty"`
}

// GwAllocCheckRequest is /NetworkDriver.GwAllocCheck's body: the options
// CreateNetwork will get.
type GwAllocCheckRequest struct {
	Options map[string]any
}

// GwAllocCheckResponse says for which families Docker must not reserve a
// gateway address.
type GwAllocCheckResponse struct {
	SkipIPv4 bool
	SkipIPv6 bool
}

// GwAllocCheck: an --internal network has no gateway (nothing routes it),
// so no address is reserved for one, which leaves it free for containers
// and makes `docker network inspect` say what is true. Every other network
// keeps Docker's reservation: Docker's IPAM must keep the gateway address
// away from containers, and it is the address an OVN router port takes.
// 20.10 never asks and always reserves.
func (d *Driver) GwAllocCheck(_ context.Context, req *GwAllocCheckRequest) (*GwAllocCheckResponse, error) {
	internal, err := boolOption(req.Options, optInternal)
	if err != nil {
		return nil, err
	}
	return &GwAllocCheckResponse{SkipIPv4: internal, SkipIPv6: internal}, nil
}
