package nb_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

var outside = nb.External{Subnet: netip.MustParsePrefix("172.30.0.0/24"), NextHop: netip.MustParseAddr("172.30.0.1"),
	Range: netip.MustParsePrefix("172.30.0.0/30"), Chassis: []string{"gw1", "gw2"}, Physnet: "physnet-docker"}

// With an outside set, a router is made with its uplink (address, gateway
// chassis, default route, external port) and one SNAT row per attached
// IPv4 subnet; all of it goes with the router.
func TestRouterUplinkAndSNAT(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	for range 2 { // setting it again is a no-op
		if err := c.SetExternal(ctx, outside); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.nbctl("get", "Logical_Switch_Port", "docker-external-localnet", "type", "options:network_name"); got != "localnet\nphysnet-docker" {
		t.Fatalf("localnet port: %q", got)
	}
	attach(t, c, routedSwitch(1, "r1"))
	attach(t, c, routedSwitch(2, "r1"))
	attach(t, c, routedSwitch(3, "r2"))
	// 172.30.0.0 is the segment's own address and .1 the next hop.
	for router, want := range map[string]string{"r1": "[\"172.30.0.2/24\"]", "r2": "[\"172.30.0.3/24\"]"} {
		if got := s.nbctl("get", "Logical_Router_Port", "rtoe-"+router, "networks"); got != want {
			t.Errorf("%s's uplink: %q, want %q", router, got, want)
		}
	}
	if got := s.nbctl("--bare", "--columns=chassis_name,priority", "find", "Gateway_Chassis", "name=rtoe-r1-gw1"); got != "gw1\n2" {
		t.Errorf("gateway chassis: %q", got)
	}
	if got := s.nbctl("lr-route-list", "r1"); !contains(got, "0.0.0.0/0", "172.30.0.1") {
		t.Errorf("routes: %q", got)
	}
	if got := s.nbctl("lr-nat-list", "r1"); !contains(got, "snat", "172.30.0.2", "10.90.1.0/24", "10.90.2.0/24") {
		t.Errorf("NAT: %q", got)
	}
	// The outside's range is full: a third router has no address.
	sw := routedSwitch(4, "r3")
	got, err := made(t, c, sw)
	if err != nil {
		t.Fatal(err)
	}
	usererrtest.Check(t, c.EnsureRouterPort(ctx, got), "external range 172.30.0.0/30")
	if _, err := c.DeleteSwitch(ctx, "net4", "host1"); err != nil {
		t.Fatal(err)
	}
	err = c.UnsetExternal(ctx)
	if !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("unset while routers use it: %v", err)
	}
	usererrtest.Check(t, err, "2 router(s)")

	if _, err := c.DeleteSwitch(ctx, "net1", "host1"); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("lr-nat-list", "r1"); contains(got, "10.90.1.0/24") || !contains(got, "10.90.2.0/24") {
		t.Errorf("NAT after net1 went: %q", got)
	}
	for _, n := range []string{"net2", "net3"} {
		if _, err := c.DeleteSwitch(ctx, n, "host1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"Logical_Router", "Logical_Router_Port", "NAT", "Logical_Router_Static_Route", "Gateway_Chassis"} {
		if got := s.nbctl("--bare", "--columns=_uuid", "list", table); got != "" {
			t.Errorf("%s left: %q", table, got)
		}
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port"); got != "docker-external-localnet" {
		t.Errorf("switch ports left: %q", got)
	}
	if err := c.UnsetExternal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch"); got != "" {
		t.Errorf("switches left: %q", got)
	}
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// Routers made before the outside was set get their uplink, with SNAT for
// every network already attached, once it is.
func TestRoutersMadeBeforeTheOutsideGetAnUplink(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	attach(t, c, routedSwitch(1, "r1"))
	attach(t, c, routedSwitch(2, "r1"))
	if given, err := c.EnsureUplinks(ctx); err != nil || len(given) != 0 {
		t.Fatalf("no outside yet: %v %v", given, err)
	}
	if err := c.SetExternal(ctx, outside); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{{"r1"}, nil} { // the second pass has nothing to do
		given, err := c.EnsureUplinks(ctx)
		if err != nil || !slices.Equal(given, want) {
			t.Fatalf("pass %d: %v %v; want %v", i, given, err, want)
		}
	}
	if got := s.nbctl("lr-nat-list", "r1"); !contains(got, "172.30.0.2", "10.90.1.0/24", "10.90.2.0/24") {
		t.Errorf("NAT: %q", got)
	}
	if got := s.nbctl("lr-route-list", "r1"); !contains(got, "0.0.0.0/0", "172.30.0.1") {
		t.Errorf("routes: %q", got)
	}
	for _, n := range []string{"net1", "net2"} {
		if _, err := c.DeleteSwitch(ctx, n, "host1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"Logical_Router", "NAT", "Logical_Router_Static_Route", "Gateway_Chassis"} {
		if got := s.nbctl("--bare", "--columns=_uuid", "list", table); got != "" {
			t.Errorf("%s left: %q", table, got)
		}
	}
}
