package driver

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// optPortMap carries the container's -p bindings, in CreateEndpoint, Join
// and ProgramExternalConnectivity alike.
const optPortMap = "com.docker.network.portmap"

// IANA protocol numbers, as Docker sends them (types.Protocol).
var protocols = map[uint8]string{6: "tcp", 17: "udp", 132: "sctp"}

// portBinding is libnetwork's types.PortBinding as JSON carries it: Go
// field names, Proto a number, empty strings for unset addresses.
type portBinding struct {
	Proto       uint8
	IP          string
	Port        uint16
	HostIP      string
	HostPort    uint16
	HostPortEnd uint16
}

// PublishConfig is a validated ProgramExternalConnectivity request.
type PublishConfig struct {
	NetworkID  string
	EndpointID string
	Bindings   []nb.Binding
}

// ParsePublish validates a ProgramExternalConnectivity request: the IDs and
// the port map (docker run -p). Exposed ports alone need nothing here.
func ParsePublish(req *network.ProgramExternalConnectivityRequest) (PublishConfig, error) {
	if req == nil {
		return PublishConfig{}, invalid(notDocker, "the ProgramExternalConnectivity request is empty")
	}
	cfg := PublishConfig{NetworkID: req.NetworkID, EndpointID: req.EndpointID}
	if err := checkIDs(req.NetworkID, req.EndpointID); err != nil {
		return cfg, err
	}
	raw, ok := req.Options[optPortMap]
	if !ok || raw == nil {
		return cfg, nil
	}
	// Options arrive decoded into maps and float64s; decoding the JSON
	// again into the wire type checks every field's type and range.
	b, err := json.Marshal(raw)
	var pbs []portBinding
	if err == nil {
		err = json.Unmarshal(b, &pbs)
	}
	if err != nil {
		return cfg, invalid(notDocker, "the port map %s is not a list of port bindings: %v", quoted(raw), err)
	}
	for _, pb := range pbs {
		bind, err := pb.binding()
		if err != nil {
			return cfg, err
		}
		cfg.Bindings = append(cfg.Bindings, bind)
	}
	return cfg, nil
}

func (pb portBinding) binding() (nb.Binding, error) {
	proto, ok := protocols[pb.Proto]
	if !ok {
		return nb.Binding{}, invalid("use tcp, udp or sctp", "port %d has protocol number %d, which OVN cannot balance", pb.Port, pb.Proto)
	}
	what := fmt.Sprintf("%d/%s", pb.Port, proto)
	if pb.Port == 0 {
		return nb.Binding{}, invalid(notDocker, "port binding %s names no container port", what)
	}
	end := pb.HostPortEnd
	if end == 0 {
		end = pb.HostPort
	}
	if pb.HostPort == 0 && end != 0 || end < pb.HostPort {
		return nb.Binding{}, invalid("give the lower host port first, as in -p LOW-HIGH:PORT", "port %s has host port range %d-%d, which is empty", what, pb.HostPort, pb.HostPortEnd)
	}
	b := nb.Binding{Proto: proto, Port: pb.Port, HostPort: pb.HostPort, HostPortEnd: end}
	if pb.HostIP != "" {
		ip, err := netip.ParseAddr(pb.HostIP)
		if err != nil || ip.Zone() != "" {
			return nb.Binding{}, invalid("give a numeric address, or none", "port %s has host address %q, which is not an IP address", what, pb.HostIP)
		}
		if !ip.IsUnspecified() {
			b.HostIP = ip.Unmap()
		}
	}
	return b, nil
}
