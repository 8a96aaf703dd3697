package driver

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
)

func addFixtures(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*", pattern))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// The parsers either accept a request into a consistent config or refuse
// it with ErrInvalid; they never panic and never return another error.
func FuzzParseNetwork(f *testing.F) {
	addFixtures(f, "NetworkDriver.CreateNetwork.*.json")
	f.Add([]byte(`{"NetworkID":"a","Options":{"com.docker.network.generic":{"mtu":"1280"}},"IPv6Data":[{"Pool":"fd00::/64","Gateway":"fd00::1/64"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req network.CreateNetworkRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		cfg, err := ParseNetwork(&req)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not marked invalid: %v", err)
			}
			return
		}
		if len(cfg.Subnets()) == 0 || (cfg.MTU != 0 && (cfg.MTU < minMTU || cfg.MTU > maxMTU)) {
			t.Fatalf("accepted an inconsistent config %+v", cfg)
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	addFixtures(f, "NetworkDriver.CreateEndpoint.*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		var req network.CreateEndpointRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		cfg, err := ParseEndpoint(&req)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not marked invalid: %v", err)
			}
			return
		}
		if len(cfg.MAC) != 6 || cfg.MAC[0]&1 != 0 || len(HostIfName(cfg.EndpointID)) > 15 {
			t.Fatalf("accepted an unusable endpoint %+v", cfg)
		}
	})
}

// Port maps come as Docker recorded them in CreateEndpoint (the same
// options reach ProgramExternalConnectivity).
func FuzzParsePublish(f *testing.F) {
	addFixtures(f, "NetworkDriver.CreateEndpoint.*.json")
	f.Add([]byte(`{"NetworkID":"a","EndpointID":"b","Options":{"com.docker.network.portmap":[{"Proto":17,"Port":53,"HostIP":"::","HostPort":0}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req network.ProgramExternalConnectivityRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		cfg, err := ParsePublish(&req)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not marked invalid: %v", err)
			}
			return
		}
		for _, b := range cfg.Bindings {
			if b.Port == 0 || b.HostPortEnd < b.HostPort || (b.HostPort == 0) != (b.HostPortEnd == 0) ||
				(b.HostIP.IsValid() && b.HostIP.IsUnspecified()) {
				t.Fatalf("accepted an unusable binding %+v", b)
			}
		}
	})
}
