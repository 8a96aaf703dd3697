package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/ipam"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
	ipamd "github.com/ovn-docker/ovn-docker/ipam"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

const (
	netA = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	ep1  = "e1e1e1e1e1e1000000000000000000000000000000000000000000000000000"
	ep2  = "e2e2e2e2e2e2000000000000000000000000000000000000000000000000000"
)

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func clients(t *testing.T, nbRemote, ovsRemote string) (*nb.Client, *local.Client) {
	nbc, err := nb.New(conn.Config{Endpoints: []string{nbRemote}, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := local.New(conn.Config{Endpoints: []string{ovsRemote}, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); nbc.Close(); vs.Close() })
	nbc.Run(ctx)
	vs.Run(ctx)
	return nbc, vs
}

// known builds a known state with the driver's own calls.
func known(t *testing.T) (*ovsdbtest.Server, *nb.Client, *local.Client) {
	srv := ovsdbtest.Start(t)
	srv.Vsctl("set", "open", ".", "external-ids:system-id=host1")
	srv.Vsctl("add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev")
	nbc, vs := clients(t, srv.Endpoint(), srv.Endpoint())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	must := func(_ bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nbc.EnsureSwitch(ctx, nb.Switch{Name: "docker-aaaaaaaaaaaa", NetworkID: netA, Subnets: []string{"10.77.0.0/24"}, MTU: 1442,
		Chassis: "host1", Pools: []string{"ovnlocal/10.77.0.0/24"}}))
	for _, p := range []nb.Port{
		{Name: ep1, NetworkID: netA, EndpointID: ep1, MAC: "02:00:00:00:00:01", IPs: []string{"10.77.0.2"}, Chassis: "host1"},
		{Name: ep2, NetworkID: netA, EndpointID: ep2, MAC: "02:00:00:00:00:02", IPs: []string{"10.77.0.3"}, Chassis: "host2"},
	} {
		sw, err := nbc.Switch(ctx, netA)
		if err != nil {
			t.Fatal(err)
		}
		must(nbc.EnsurePort(ctx, sw, p))
	}
	must(vs.EnsureInterface(ctx, "br-int", local.Iface{Name: "ovhe1e1e1e1e1e1", LogicalPort: ep1, MAC: "02:00:00:00:00:01", EndpointID: ep1}))
	must(vs.EnsureInterface(ctx, "br-int", local.Iface{Name: "ovhdeaddeaddead", LogicalPort: "gone", EndpointID: "gone"}))
	srv.Vsctl("set", "Interface", "ovhe1e1e1e1e1e1", "external_ids:ovn-installed=true")
	m := ipamd.NewManager(store.New(nbc), ipamd.Config{Log: quiet(), SystemID: vs.SystemID})
	pool, err := m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: "ovnlocal", Pool: "10.77.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := m.RequestAddress(ctx, &ipam.RequestAddressRequest{PoolID: pool.PoolID}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.RequestPool(ctx, &ipam.RequestPoolRequest{AddressSpace: "ovnlocal", Pool: "fd00::/64", SubPool: "fd00::/80", V6: true}); err != nil {
		t.Fatal(err)
	}
	return srv, nbc, vs
}

const golden = `HOST
  chassis (system-id)      host1
  bridge                   br-int (netdev datapath)
  local OVS database       ok unix:SOCK
  OVN northbound database  ok unix:SOCK

NETWORKS (1)
  NETWORK       LOGICAL SWITCH       SUBNETS       MTU   PORTS
  aaaaaaaaaaaa  docker-aaaaaaaaaaaa  10.77.0.0/24  1442  2

ENDPOINTS ON THIS HOST (1; 1 on other hosts)
  ENDPOINT      NETWORK       IP         MAC                OVS INTERFACE    OVN-INSTALLED  UP
  e1e1e1e1e1e1  aaaaaaaaaaaa  10.77.0.2  02:00:00:00:00:01  ovhe1e1e1e1e1e1  yes            no

ORPHAN OVS INTERFACES (no logical port): ovhdeaddeaddead

IPAM POOLS (2)
  POOL                   RANGE      CLAIMED  OF
  ovnlocal/10.77.0.0/24  -          3        254
  ovnlocal/fd00::/64     fd00::/80  0        2^64
`

func TestReportOfAKnownState(t *testing.T) {
	srv, nbc, vs := known(t)
	// Interfaces set by another client reach the server at once; reads are
	// from the server, so no waiting is needed.
	r := Collect(context.Background(), nbc, store.New(nbc), vs, Options{Bridge: "br-int", NBRemote: srv.Endpoint(), OVSRemote: srv.Endpoint(), Timeout: 5 * time.Second})
	var out bytes.Buffer
	if err := r.Text(&out); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(out.String(), srv.Sock, "SOCK")
	if got != golden {
		t.Fatalf("status output differs.\n--- got\n%s\n--- want\n%s", got, golden)
	}
	var js bytes.Buffer
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Endpoints[0].ID != ep1 || back.Pools[0].Claimed != 3 ||
		!back.Endpoints[0].OVNInstalled || back.Interfaces[0] != "ovhdeaddeaddead" {
		t.Fatalf("JSON round trip: %+v %v\n%s", back, err, js.String())
	}
}

func TestReportWithOVNUnreachable(t *testing.T) {
	srv := ovsdbtest.Start(t)
	srv.Vsctl("set", "open", ".", "external-ids:system-id=host1")
	bogus := "unix:" + t.TempDir() + "/nb.sock"
	nbc, vs := clients(t, bogus, srv.Endpoint())
	r := Collect(context.Background(), nbc, store.New(nbc), vs, Options{Bridge: "br-int", NBRemote: bogus, OVSRemote: srv.Endpoint(), Timeout: 300 * time.Millisecond})
	if !strings.Contains(r.OVN.Error, "cannot reach the OVN northbound database at "+bogus) || r.Host.SystemID != "host1" || r.Host.OVS.Error != "" {
		t.Fatalf("report %+v", r)
	}
	var out bytes.Buffer
	r.Text(&out)
	if !strings.Contains(out.String(), "OVN northbound database  UNREACHABLE: cannot reach") || !strings.Contains(out.String(), "br-int (not found)") {
		t.Fatalf("text:\n%s", out.String())
	}
}

type fakeEngine struct {
	nets []dockerapi.Network
	err  error
}

func (f fakeEngine) Addr() string { return "unix:///run/docker.sock" }
func (f fakeEngine) Networks(context.Context) ([]dockerapi.Network, error) {
	return f.nets, f.err
}

// What this host made for networks and pools its Docker engine no longer
// has is marked stale; what a network still uses is not.
func TestReportMarksWhatDockerForgot(t *testing.T) {
	srv, nbc, vs := known(t)
	opt := Options{Bridge: "br-int", NBRemote: srv.Endpoint(), OVSRemote: srv.Endpoint(), Timeout: 5 * time.Second,
		Docker: fakeEngine{nets: []dockerapi.Network{{ID: "other", IPAMDriver: "openvswitch",
			Subnets: []netip.Prefix{netip.MustParsePrefix("fd00::/64")}}}}}
	r := Collect(context.Background(), nbc, store.New(nbc), vs, opt)
	if len(r.Networks) != 1 || !r.Networks[0].Stale || r.Docker.Error != "" {
		t.Fatalf("networks %+v, docker %+v", r.Networks, r.Docker)
	}
	if !r.Pools[0].Stale || r.Pools[1].Stale {
		t.Fatalf("pools %+v: want the v4 pool stale, the v6 one (still used) not", r.Pools)
	}
	var out bytes.Buffer
	r.Text(&out)
	if !strings.Contains(out.String(), "10.77.0.0/24 STALE: Docker no longer knows it") ||
		!strings.Contains(out.String(), "Docker engine            ok unix:///run/docker.sock") {
		t.Fatalf("text:\n%s", out.String())
	}

	opt.Docker = fakeEngine{nets: []dockerapi.Network{{ID: netA, IPAMDriver: "openvswitch",
		Subnets: []netip.Prefix{netip.MustParsePrefix("10.77.0.0/24")}}}}
	if r := Collect(context.Background(), nbc, store.New(nbc), vs, opt); r.Networks[0].Stale || r.Pools[0].Stale {
		t.Fatalf("a network Docker knows is marked stale: %+v %+v", r.Networks, r.Pools)
	}
	opt.Docker = fakeEngine{err: errors.New("cannot reach the Docker engine")}
	r = Collect(context.Background(), nbc, store.New(nbc), vs, opt)
	if r.Networks[0].Stale || r.Docker.Error == "" {
		t.Fatalf("without Docker's answer nothing may be called stale: %+v %+v", r.Networks, r.Docker)
	}
}

// Looking must not touch: status writes nothing to NB, not even the IPAM
// bookkeeping a first pool creation makes.
func TestStatusWritesNothing(t *testing.T) {
	for _, name := range []string{"known state", "empty NB"} {
		var srv *ovsdbtest.Server
		var nbc *nb.Client
		var vs *local.Client
		if name == "empty NB" {
			srv = ovsdbtest.Start(t)
			nbc, vs = clients(t, srv.Endpoint(), srv.Endpoint())
		} else {
			srv, nbc, vs = known(t)
		}
		before := srv.NBWrites()
		opt := Options{Bridge: "br-int", NBRemote: srv.Endpoint(), OVSRemote: srv.Endpoint(), Timeout: 5 * time.Second,
			Docker: fakeEngine{}}
		if r := Collect(context.Background(), nbc, store.New(nbc), vs, opt); r.OVN.Error != "" {
			t.Fatalf("%s: %s", name, r.OVN.Error)
		}
		if after := srv.NBWrites(); after != before {
			t.Errorf("%s: status wrote %d bytes to NB", name, after-before)
		}
	}
}

// The outside of routed networks, when set, is on the report.
func TestReportShowsTheOutside(t *testing.T) {
	srv, nbc, vs := known(t)
	ext := nb.External{Subnet: netip.MustParsePrefix("172.30.0.0/24"), NextHop: netip.MustParseAddr("172.30.0.1"),
		Range: netip.MustParsePrefix("172.30.0.16/28"), Chassis: []string{"gw1"}, Physnet: "physnet"}
	if err := nbc.SetExternal(context.Background(), ext); err != nil {
		t.Fatal(err)
	}
	r := Collect(context.Background(), nbc, store.New(nbc), vs, Options{Bridge: "br-int", NBRemote: srv.Endpoint(), OVSRemote: srv.Endpoint(), Timeout: 5 * time.Second})
	var out bytes.Buffer
	if err := r.Text(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "outside of routed networks  segment 172.30.0.0/24, next hop 172.30.0.1") || len(r.Networks) != 1 {
		t.Fatalf("report:\n%s", out.String())
	}
}

// Published ports are on the report, since docker port cannot show them.
func TestReportShowsPublishedPorts(t *testing.T) {
	srv, nbc, vs := known(t)
	ctx := context.Background()
	ext := nb.External{Subnet: netip.MustParsePrefix("172.30.0.0/24"), NextHop: netip.MustParseAddr("172.30.0.1"),
		Range: netip.MustParsePrefix("172.30.0.16/28"), Chassis: []string{"gw1"}, Physnet: "physnet"}
	if err := nbc.SetExternal(ctx, ext); err != nil {
		t.Fatal(err)
	}
	sw := nb.Switch{Name: "docker-routed", NetworkID: "routed", Subnets: []string{"10.90.0.0/24"}, Gateways: []string{"10.90.0.1/24"},
		MTU: 1442, Chassis: "host1", Router: "r1"}
	if _, err := nbc.EnsureSwitch(ctx, sw); err != nil {
		t.Fatal(err)
	}
	got, err := nbc.Switch(ctx, "routed")
	if err != nil {
		t.Fatal(err)
	}
	if err := nbc.EnsureRouterPort(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := nbc.Publish(ctx, "r1", "ep-routed", netip.MustParseAddr("10.90.0.2"),
		[]nb.Binding{{Proto: "tcp", Port: 80, HostPort: 8080, HostPortEnd: 8080}}); err != nil {
		t.Fatal(err)
	}
	r := Collect(ctx, nbc, store.New(nbc), vs, Options{Bridge: "br-int", NBRemote: srv.Endpoint(), OVSRemote: srv.Endpoint(), Timeout: 5 * time.Second})
	var out bytes.Buffer
	if err := r.Text(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "r1      172.30.0.16:8080  tcp       10.90.0.2:80  ep-routed") {
		t.Fatalf("report:\n%s", out.String())
	}
}

// In a VM (nested mode) there is no OVS to read: the report names the
// VM's port, lists the VM's nested ports as this host's with their VLAN
// tags, and reads nothing else.
func TestReportInAVM(t *testing.T) {
	srv, nbc, _ := known(t)
	ctx := context.Background()
	sw, err := nbc.Switch(ctx, netA)
	if err != nil {
		t.Fatal(err)
	}
	const child = "e3e3e3e3e3e3"
	p := nb.Port{Name: child, NetworkID: netA, EndpointID: child, MAC: "02:00:00:00:00:04", IPs: []string{"10.77.0.4"}, Parent: "vm1"}
	if _, err := nbc.EnsurePort(ctx, sw, p); err != nil {
		t.Fatal(err)
	}
	srv.Nbctl("set", "Logical_Switch_Port", child, "tag=7")
	r := Collect(ctx, nbc, store.New(nbc), nil, Options{NBRemote: srv.Endpoint(), Timeout: 5 * time.Second,
		Nested: &Nested{Parent: "vm1", Chassis: "nested:vm1"}})
	if len(r.Endpoints) != 1 || r.Endpoints[0].ID != child || r.RemoteEndpoints != 2 || r.Host.OVS.Error != "" {
		t.Fatalf("endpoints %+v, remote %d, OVS %+v", r.Endpoints, r.RemoteEndpoints, r.Host.OVS)
	}
	var out bytes.Buffer
	if err := r.Text(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nested:vm1", "on logical port vm1 (no OVS", "VLAN 7"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("%q missing from:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "local OVS database") {
		t.Fatalf("a VM's report reads OVS:\n%s", out.String())
	}
}
