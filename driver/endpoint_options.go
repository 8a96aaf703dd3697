package driver

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// optIfName is the endpoint option of current engines naming the interface
// inside the container; it comes in CreateEndpoint only, not in Join.
const optIfName = "com.docker.network.endpoint.ifname"

// EndpointConfig is a validated CreateEndpoint request.
type EndpointConfig struct {
	NetworkID  string
	EndpointID string
	IPv4       netip.Prefix // zero if none
	IPv6       netip.Prefix // zero if none
	MAC        net.HardwareAddr
	MACGiven   bool // false: the driver chose MAC and must return it
	// IfName is the name asked for inside the container
	// (--network name=N,driver-opt=com.docker.network.endpoint.ifname=X,
	// current engines); empty: Docker's ethN.
	IfName string
	// Exposed are the ports Docker says the container exposes; current
	// engines list here only the published ones, and all in Join.
	Exposed []nb.Exposed
}

// IPs lists the endpoint's addresses without prefix length.
func (c EndpointConfig) IPs() []string {
	var out []string
	for _, p := range []netip.Prefix{c.IPv4, c.IPv6} {
		if p.IsValid() {
			out = append(out, p.Addr().String())
		}
	}
	return out
}

// ParseEndpoint validates a CreateEndpoint request. Of Docker's options
// for the endpoint it reads the interface name the user asked for, and
// checks the exposed ports (Join acts on them: current engines send
// --expose ones there only); the others (port maps, which come again in
// ProgramExternalConnectivity, DNS servers, sysctls, the MAC's base64
// copy) need no action here and are accepted as they come.
func ParseEndpoint(req *network.CreateEndpointRequest) (EndpointConfig, error) {
	if req == nil {
		return EndpointConfig{}, invalid(notDocker, "the CreateEndpoint request is empty")
	}
	cfg := EndpointConfig{NetworkID: req.NetworkID, EndpointID: req.EndpointID}
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return cfg, err
	}
	iface := req.Interface
	if iface == nil {
		iface = &network.EndpointInterface{}
	}
	var err error
	if cfg.IPv4, err = parseAddr(iface.Address, false); err != nil {
		return cfg, err
	}
	if cfg.IPv6, err = parseAddr(iface.AddressIPv6, true); err != nil {
		return cfg, err
	}
	if cfg.IfName, err = parseIfName(req.Options); err != nil {
		return cfg, err
	}
	if cfg.Exposed, err = parseExposed(req.Options); err != nil {
		return cfg, err
	}
	if iface.MacAddress == "" {
		cfg.MAC = EndpointMAC(cfg.IPv4.Addr(), cfg.IPv6.Addr(), req.EndpointID)
		return cfg, nil
	}
	mac, err := net.ParseMAC(iface.MacAddress)
	if err != nil || len(mac) != 6 || mac[0]&1 == 1 {
		return cfg, invalid("give another with --mac-address", "%q is not a valid unicast Ethernet MAC address", iface.MacAddress)
	}
	cfg.MAC, cfg.MACGiven = mac, true
	return cfg, nil
}

// parseIfName reads and checks the interface name asked for, as the kernel
// would (dev_valid_name): 1 to 15 bytes, not "." or "..", no '/', ':' or
// white space. A bad name fails here, not later inside the container.
func parseIfName(opts map[string]any) (string, error) {
	raw, ok := opts[optIfName]
	if !ok || raw == nil {
		return "", nil
	}
	name, _ := raw.(string)
	if name == "" || len(name) > 15 || name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n") {
		return "", invalid("give a name of 1 to 15 characters without '/', ':' or spaces",
			"interface name %s is not a valid Linux interface name", quoted(raw))
	}
	return name, nil
}

func quoted(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) }
