package driver

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
)

// Engines whose requests are recorded under testdata/.
const (
	docker2010 = "docker-20.10"
	current    = "moby-v2.0.0-beta.24"
)

// fixture decodes a request body recorded from Docker 20.10.
func fixture[T any](t *testing.T, name string) *T {
	t.Helper()
	return recordedBy[T](t, docker2010, name)
}

// recordedBy decodes a request body recorded from the given engine.
func recordedBy[T any](t *testing.T, engine, name string) *T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", engine, name))
	if err != nil {
		t.Fatal(err)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestParseNetworkFixtures(t *testing.T) {
	internal, err := ParseNetwork(fixture[network.CreateNetworkRequest](t, "NetworkDriver.CreateNetwork.internal.json"))
	if err != nil || !internal.Internal || internal.Subnets()[0] != "172.18.0.0/16" || internal.Gateways()[0] != "172.18.0.1/16" {
		t.Fatalf("internal: %+v %v", internal, err)
	}
	dual, err := ParseNetwork(fixture[network.CreateNetworkRequest](t, "NetworkDriver.CreateNetwork.dualstack-default-ipam.json"))
	if err != nil || strings.Join(dual.Subnets(), " ") != "172.17.0.0/16 fd00:1::/64" || dual.MTU != 0 {
		t.Fatalf("dual stack: %+v %v", dual, err)
	}
	// The recorded "full" request carries -o foo=bar, which this driver refuses.
	_, err = ParseNetwork(fixture[network.CreateNetworkRequest](t, "NetworkDriver.CreateNetwork.full.json"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `unknown option "foo"`) {
		t.Fatalf("full: %v", err)
	}
}

func netReq(generic map[string]any, v4 ...*network.IPAMData) *network.CreateNetworkRequest {
	return &network.CreateNetworkRequest{
		NetworkID: "24e2ae841211c99dc40729311b1af5896ea50470db2cc62fbe9079ca0d9127b9",
		Options:   map[string]any{optGeneric: generic},
		IPv4Data:  v4,
	}
}

var pool = &network.IPAMData{Pool: "192.168.1.0/24", Gateway: "192.168.1.1/24"}

func TestParseNetworkOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     *network.CreateNetworkRequest
		mtu     int
		wantErr string
	}{
		{"no options", netReq(nil, pool), 0, ""},
		{"long mtu", netReq(map[string]any{OptMTU: "1400"}, pool), 1400, ""},
		{"short mtu", netReq(map[string]any{"mtu": "9000"}, pool), 9000, ""},
		{"both agree", netReq(map[string]any{"mtu": "1400", OptMTU: "1400"}, pool), 1400, ""},
		{"both disagree", netReq(map[string]any{"mtu": "1400", OptMTU: "1300"}, pool), 0, "disagree"},
		{"mtu not a number", netReq(map[string]any{"mtu": "big"}, pool), 0, `invalid MTU "big"`},
		{"mtu too small", netReq(map[string]any{"mtu": "67"}, pool), 0, `invalid MTU "67"`},
		{"mtu too large", netReq(map[string]any{"mtu": "65536"}, pool), 0, `invalid MTU "65536"`},
		{"unknown option", netReq(map[string]any{"vlan": "5"}, pool), 0, `unknown option "vlan"`},
		{"no subnet", netReq(nil), 0, "no subnet"},
		{"empty pool", netReq(nil, &network.IPAMData{}), 0, "no subnet"},
		{"bad subnet", netReq(nil, &network.IPAMData{Pool: "10.0.0.0/33"}), 0, `"10.0.0.0/33" is not a valid IPv4 subnet`},
		{"v6 in v4 data", netReq(nil, &network.IPAMData{Pool: "fd00::/64"}), 0, "not a valid IPv4 subnet"},
		{"gateway outside", netReq(nil, &network.IPAMData{Pool: "10.0.0.0/24", Gateway: "10.0.1.1/24"}), 0, "gateway"},
		{"no gateway (docker 28)", netReq(nil, &network.IPAMData{Pool: "10.0.0.0/24"}), 0, ""},
		{"bare gateway", netReq(nil, &network.IPAMData{Pool: "10.0.0.0/24", Gateway: "10.0.0.1"}), 0, ""},
		{"bad id", &network.CreateNetworkRequest{NetworkID: "../x", IPv4Data: []*network.IPAMData{pool}}, 0, "not a valid Docker ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseNetwork(tc.req)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || cfg.MTU != tc.mtu {
				t.Fatalf("got %+v, %v; want MTU %d", cfg, err, tc.mtu)
			}
		})
	}
}

func TestParseNetworkIPv6MTUFloor(t *testing.T) {
	req := netReq(map[string]any{"mtu": "1000"}, pool)
	req.IPv6Data = []*network.IPAMData{{Pool: "fd00::/64"}}
	if _, err := ParseNetwork(req); err == nil || !strings.Contains(err.Error(), "from 1280") {
		t.Fatalf("IPv6 with MTU 1000: %v", err)
	}
}

func TestParseNetworkInternalAndIPv4Off(t *testing.T) {
	req := netReq(nil)
	req.Options[optInternal] = true
	req.Options[optEnableIPv4] = false
	req.IPv6Data = []*network.IPAMData{{Pool: "fd00:1::/64", Gateway: "fd00:1::1/64"}}
	cfg, err := ParseNetwork(req)
	if err != nil || !cfg.Internal || len(cfg.IPv4) != 0 || cfg.Subnets()[0] != "fd00:1::/64" {
		t.Fatalf("%+v %v", cfg, err)
	}
	req.Options[optInternal] = "maybe"
	if _, err := ParseNetwork(req); err == nil {
		t.Fatal("internal=maybe accepted")
	}
}

func TestParseEndpointFixtures(t *testing.T) {
	for _, name := range []string{"NetworkDriver.CreateEndpoint.plain.json", "NetworkDriver.CreateEndpoint.ports.json"} {
		req := fixture[network.CreateEndpointRequest](t, name)
		cfg, err := ParseEndpoint(req)
		if err != nil || !cfg.MACGiven || cfg.MAC.String() != req.Interface.MacAddress || cfg.IPv4.String() != req.Interface.Address {
			t.Fatalf("%s: %+v %v", name, cfg, err)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	const id = "0ba3fc4a3da1f9f453340558f9df4e94f84ab7c24c691aa961ef7388c4b2c9bd"
	req := func(addr, addr6, mac string) *network.CreateEndpointRequest {
		return &network.CreateEndpointRequest{NetworkID: id, EndpointID: id,
			Interface: &network.EndpointInterface{Address: addr, AddressIPv6: addr6, MacAddress: mac}}
	}
	cfg, err := ParseEndpoint(req("10.0.0.2/24", "fd00::2/64", ""))
	if err != nil || cfg.MACGiven || cfg.MAC.String() != "0a:58:0a:00:00:02" || strings.Join(cfg.IPs(), " ") != "10.0.0.2 fd00::2" {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, bad := range []*network.CreateEndpointRequest{
		req("10.0.0.2", "", ""), req("fd00::2/64", "", ""), req("", "10.0.0.2/24", ""),
		req("10.0.0.2/24", "", "01:00:5e:00:00:01"), req("10.0.0.2/24", "", "zz"),
		{NetworkID: id, EndpointID: ""},
	} {
		if _, err := ParseEndpoint(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v accepted: %v", bad.Interface, err)
		}
	}
	if cfg, err := ParseEndpoint(&network.CreateEndpointRequest{NetworkID: id, EndpointID: id}); err != nil || len(cfg.IPs()) != 0 {
		t.Fatalf("no interface: %+v %v", cfg, err)
	}
}

func TestNames(t *testing.T) {
	const id = "0ba3fc4a3da1f9f453340558f9df4e94f84ab7c24c691aa961ef7388c4b2c9bd"
	if got := SwitchName(id); got != "docker-0ba3fc4a3da1" {
		t.Errorf("SwitchName = %q", got)
	}
	for _, name := range []string{HostIfName(id), PeerIfName(id)} {
		if len(name) > 15 {
			t.Errorf("%q is longer than IFNAMSIZ-1", name)
		}
	}
	if HostIfName(id) == PeerIfName(id) || HostIfName("short") != "ovhshort" {
		t.Errorf("names %q %q", HostIfName(id), PeerIfName(id))
	}
}

// A container restarted or reconnected gets a new endpoint but the same
// address, and must keep its MAC: Docker 20.10 sends no gratuitous ARP,
// so peers would hold a dead MAC for up to a minute.
func TestEndpointMACFollowsTheAddress(t *testing.T) {
	const id1, id2 = "0ba3fc4a3da1f9f4", "77aa11bb22cc33dd"
	v4, v4b := netip.MustParseAddr("10.77.0.3"), netip.MustParseAddr("10.77.0.4")
	v6, v6b := netip.MustParseAddr("fd00::1:3"), netip.MustParseAddr("fd00::1:4")
	none := netip.Addr{}
	for _, tc := range []struct {
		name       string
		a, b       net.HardwareAddr
		wantEqual  bool
		wantString string
	}{
		{"same IPv4, new endpoint", EndpointMAC(v4, none, id1), EndpointMAC(v4, none, id2), true, "0a:58:0a:4d:00:03"},
		{"IPv4 wins in dual stack", EndpointMAC(v4, v6, id1), EndpointMAC(v4, v6b, id2), true, "0a:58:0a:4d:00:03"},
		{"other IPv4", EndpointMAC(v4, none, id1), EndpointMAC(v4b, none, id1), false, ""},
		{"same IPv6 alone, new endpoint", EndpointMAC(none, v6, id1), EndpointMAC(none, v6, id2), true, "0e:00:00:01:00:03"},
		{"other IPv6", EndpointMAC(none, v6, id1), EndpointMAC(none, v6b, id1), false, ""},
		{"no address: from the ID", EndpointMAC(none, none, id1), EndpointMAC(none, none, id2), false, ""},
	} {
		if (tc.a.String() == tc.b.String()) != tc.wantEqual {
			t.Errorf("%s: %s vs %s", tc.name, tc.a, tc.b)
		}
		if tc.wantString != "" && tc.a.String() != tc.wantString {
			t.Errorf("%s: %s, want %s", tc.name, tc.a, tc.wantString)
		}
		for _, mac := range []net.HardwareAddr{tc.a, tc.b} {
			if len(mac) != 6 || mac[0]&0x02 == 0 || mac[0]&0x01 != 0 {
				t.Errorf("%s: %s is not a locally administered unicast MAC", tc.name, mac)
			}
		}
	}
}

// Current engines keep -o com.docker.network.enable_ipv4/6 among the
// driver options as well as at the top level; an IPv6-only network has an
// empty IPv4Data.
func TestParseNetworkIPv6OnlyFromCurrentEngines(t *testing.T) {
	cfg, err := ParseNetwork(&network.CreateNetworkRequest{NetworkID: "abc", IPv4Data: []*network.IPAMData{},
		IPv6Data: []*network.IPAMData{{AddressSpace: "LocalDefault", Pool: "fd00:1::/64", Gateway: "fd00:1::1/64"}},
		Options: map[string]any{"com.docker.network.enable_ipv4": false, "com.docker.network.enable_ipv6": true,
			"com.docker.network.generic": map[string]any{"com.docker.network.enable_ipv4": "false"}}})
	if err != nil || len(cfg.IPv4) != 0 || len(cfg.IPv6) != 1 || cfg.Subnets()[0] != "fd00:1::/64" {
		t.Fatalf("%+v %v", cfg, err)
	}
}

func TestParseCurrentEngineFixtures(t *testing.T) {
	full, err := ParseNetwork(recordedBy[network.CreateNetworkRequest](t, current, "NetworkDriver.CreateNetwork.full.json"))
	if err != nil || full.MTU != 1400 || strings.Join(full.Subnets(), " ") != "10.77.0.0/24 fd00:77::/64" ||
		strings.Join(full.PoolIDs(), " ") != "ovnlocal/10.77.0.0/24 ovnlocal/fd00:77::/64" || full.Aux()[0] != "10.77.0.5" {
		t.Fatalf("full: %+v %v", full, err)
	}
	internal, err := ParseNetwork(recordedBy[network.CreateNetworkRequest](t, current, "NetworkDriver.CreateNetwork.internal-default-ipam.json"))
	if err != nil || !internal.Internal || strings.Join(internal.Gateways(), " ") != "10.78.0.1/24" {
		t.Fatalf("internal, its IPv6 gateway skipped: %+v %v", internal, err)
	}
	v6, err := ParseNetwork(recordedBy[network.CreateNetworkRequest](t, current, "NetworkDriver.CreateNetwork.v6only.json"))
	if err != nil || len(v6.IPv4) != 0 || v6.Subnets()[0] != "fd6f:766e:6400::/64" {
		t.Fatalf("IPv6 only: %+v %v", v6, err)
	}
	ports, err := ParseEndpoint(recordedBy[network.CreateEndpointRequest](t, current, "NetworkDriver.CreateEndpoint.ports.json"))
	if err != nil || ports.MACGiven || strings.Join(ports.IPs(), " ") != "10.77.0.200 fd00:77::2" || ports.MAC.String() != "0a:58:0a:4d:00:c8" {
		t.Fatalf("ports: %+v %v", ports, err)
	}
	named, err := ParseEndpoint(recordedBy[network.CreateEndpointRequest](t, current, "NetworkDriver.CreateEndpoint.ifname-mac.json"))
	if err != nil || named.IfName != "foo0" || !named.MACGiven || named.MAC.String() != "02:42:0a:4d:00:99" {
		t.Fatalf("ifname and MAC: %+v %v", named, err)
	}
	d := newRig(t).d
	for name, skip := range map[string]bool{"NetworkDriver.GwAllocCheck.json": false,
		"NetworkDriver.GwAllocCheck.internal.json": true, "NetworkDriver.GwAllocCheck.v6only.json": false} {
		resp, err := d.GwAllocCheck(context.Background(), recordedBy[GwAllocCheckRequest](t, current, name))
		if err != nil || resp.SkipIPv4 != skip || resp.SkipIPv6 != skip {
			t.Errorf("%s: %+v %v", name, resp, err)
		}
	}
}
