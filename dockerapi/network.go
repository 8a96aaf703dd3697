package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
)

// Network is what the daemon needs to know of one Docker network.
type Network struct {
	ID         string
	Name       string
	Driver     string
	Scope      string
	IPAMDriver string
	Subnets    []netip.Prefix
}

// wireNetwork is the part of GET /networks' answer that is read.
type wireNetwork struct {
	ID     string `json:"Id"`
	Name   string
	Driver string
	Scope  string
	IPAM   struct {
		Driver string
		Config []struct{ Subnet string }
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// DecodeNetworks reads GET /networks' answer. A network without a usable
// ID makes the whole answer unusable: deciding what Docker has forgotten
// from a list that may be missing entries would delete live networks.
func DecodeNetworks(body []byte) ([]Network, error) {
	var wire []wireNetwork
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, fmt.Errorf("docker's network list does not decode: %w", err)
	}
	out := make([]Network, 0, len(wire))
	for _, w := range wire {
		if !idPattern.MatchString(w.ID) {
			return nil, fmt.Errorf("docker's network list has a network with ID %q", w.ID)
		}
		n := Network{ID: w.ID, Name: w.Name, Driver: w.Driver, Scope: w.Scope, IPAMDriver: w.IPAM.Driver}
		for _, c := range w.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				n.Subnets = append(n.Subnets, p.Masked())
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// Known is the set of network IDs in a list, for membership tests.
func Known(nets []Network) map[string]bool {
	m := make(map[string]bool, len(nets))
	for _, n := range nets {
		m[n.ID] = true
	}
	return m
}
