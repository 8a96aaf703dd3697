package driver

import (
	"encoding/json"
	"strconv"

	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// OptICC is Docker's own bridge option for inter-container traffic:
// false keeps the network's containers from reaching each other.
const OptICC = "com.docker.network.bridge.enable_icc"

// parseICC reads -o com.docker.network.bridge.enable_icc, as Docker's
// bridge reads it (strconv.ParseBool); it reports whether ICC is off.
func parseICC(generic map[string]string) (bool, error) {
	s, ok := generic[OptICC]
	if !ok {
		return false, nil
	}
	icc, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid("give true or false", "%s=%q is not a boolean", OptICC, s)
	}
	return !icc, nil
}

// OptIsolate keeps a routed network from every other network on its
// router: it still reaches the outside.
const OptIsolate = "ovn.isolate"

// parseIsolate reads -o ovn.isolate; it needs a router to isolate from.
func parseIsolate(generic map[string]string, router string) (bool, error) {
	s, ok := generic[OptIsolate]
	if !ok {
		return false, nil
	}
	isolate, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalid("give true or false", "%s=%q is not a boolean", OptIsolate, s)
	}
	if isolate && router == "" {
		return false, invalid("give the network a router with -o "+OptRouter+"=NAME, or leave "+OptIsolate+" out",
			"%s=true isolates a network from the others on its router, and the network has none", OptIsolate)
	}
	return isolate, nil
}

// OptIngress says what a network's containers accept connections on:
// all (every port, the default) or exposed (only the ports they expose).
const OptIngress = "ovn.ingress"

// parseIngress reads -o ovn.ingress; "" for all.
func parseIngress(generic map[string]string) (string, error) {
	switch v := generic[OptIngress]; v {
	case "", "all":
		return "", nil
	case nb.IngressExposed:
		return v, nil
	default:
		return "", invalid("give all or exposed", "%s=%q is not a known ingress policy", OptIngress, v)
	}
}

// optExposed carries the ports a container exposes (--expose, EXPOSE,
// -p), in CreateEndpoint.
const optExposed = "com.docker.network.endpoint.exposedports"

// parseExposed reads the exposed ports (libnetwork's TransportPort:
// {"Proto":6,"Port":80}).
func parseExposed(opts map[string]any) ([]nb.Exposed, error) {
	raw, ok := opts[optExposed]
	if !ok || raw == nil {
		return nil, nil
	}
	var tps []struct {
		Proto uint8
		Port  uint16
	}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &tps)
	}
	if err != nil {
		return nil, invalid(notDocker, "the exposed ports %s are not a list of ports: %v", quoted(raw), err)
	}
	var out []nb.Exposed
	for _, tp := range tps {
		proto, ok := protocols[tp.Proto]
		if !ok || tp.Port == 0 {
			return nil, invalid("use tcp, udp or sctp", "exposed port %d has protocol number %d, which OVN cannot match", tp.Port, tp.Proto)
		}
		out = append(out, nb.Exposed{Proto: proto, Port: tp.Port})
	}
	return out, nil
}
