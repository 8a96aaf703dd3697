package nb_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// exposedSwitch makes the test network with ovn.ingress=exposed and reads
// it back.
func exposedSwitch(t *testing.T, c *nb.Client) (nb.Switch, *nb.Switch) {
	t.Helper()
	sw := testSwitch()
	sw.Ingress = nb.IngressExposed
	if _, err := c.EnsureSwitch(testCtx(t), sw); err != nil {
		t.Fatal(err)
	}
	return sw, mustSwitch(t, c)
}

func TestPortGroupNamesStayApart(t *testing.T) {
	seen := map[string]string{}
	for _, sw := range []string{"docker-f783e94b14db", "a-b", "a_b", "a_db", "a.b", "docker_a"} {
		pg := nb.PortGroupName(sw)
		if strings.ContainsAny(pg, "-") || seen[pg] != "" {
			t.Fatalf("%s -> %s (also %s)", sw, pg, seen[pg])
		}
		seen[pg] = sw
	}
}

// A network with ICC off has a port group with its drop ACL, made with
// the switch; its ports join it as they are made; all of it goes with the
// switch.
func TestICCOffLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	sw := testSwitch()
	sw.NoICC = true
	for range 2 {
		if _, err := c.EnsureSwitch(ctx, sw); err != nil {
			t.Fatal(err)
		}
	}
	pg := nb.PortGroupName(sw.Name)
	if got := s.nbctl("--bare", "--columns=name", "list", "Port_Group"); got != pg {
		t.Fatalf("port groups %q", got)
	}
	if got := s.nbctl("acl-list", pg); !contains(got, "to-lport  1003 (outport == @"+pg+" && ip) drop") {
		t.Fatalf("ACLs %q", got)
	}
	have := mustSwitch(t, c)
	if !have.NoICC || have.Policy() != "icc=false" {
		t.Fatalf("switch read back: %+v", have)
	}
	for _, ep := range []string{"ep1", "ep2"} {
		if _, err := c.EnsurePort(ctx, have, testPort(ep)); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Fields(s.nbctl("--bare", "--columns=ports", "list", "Port_Group")); len(got) != 2 {
		t.Fatalf("port group's ports %v", got)
	}
	if _, err := c.DeletePort(ctx, "ep1"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(s.nbctl("--bare", "--columns=ports", "list", "Port_Group")); len(got) != 1 {
		t.Fatalf("port group's ports after a delete %v", got)
	}
	if _, err := c.DeleteSwitch(ctx, netID, "host1"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"Port_Group", "ACL"} {
		if got := s.nbctl("--bare", "--columns=_uuid", "list", table); got != "" {
			t.Fatalf("%s left: %q", table, got)
		}
	}
}

// On a routed network ICC spares what comes through the router.
func TestICCOffRouted(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	sw := routedSwitch(1, "r1")
	sw.NoICC = true
	attach(t, c, sw)
	pg := nb.PortGroupName(sw.Name)
	if got := s.nbctl("acl-list", pg); !contains(got, `to-lport  1003 (outport == @`+pg+` && ip && eth.src != 0a:58:0a:5a:01:01) drop`) {
		t.Fatalf("ACLs %q", got)
	}
}

// A port group gone by hand: ports and ACLs are refused by name rather
// than made outside the policy; a group left by a switch deleted by hand
// does not keep the network from being made again.
func TestPortGroupGone(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	sw, have := exposedSwitch(t, c)
	pg := nb.PortGroupName(sw.Name)
	s.nbctl("destroy", "Port_Group", pg)
	_, err := c.EnsurePort(ctx, have, testPort("ep1"))
	usererrtest.Check(t, err, "port group "+pg)
	s.nbctl("ls-del", sw.Name)
	if _, err := c.EnsureSwitch(ctx, sw); err != nil {
		t.Fatal(err)
	}
	s.nbctl("ls-del", sw.Name) // its group stays behind
	if _, err := c.EnsureSwitch(ctx, sw); err != nil {
		t.Fatalf("made again over a leftover group: %v", err)
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Port_Group"); got != pg {
		t.Fatalf("port groups %q", got)
	}
}

// Hosts must agree on ICC for a shared network.
func TestSharedSwitchICCMustAgree(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	a := sharedSwitch("host1")
	a.NoICC = true
	if _, err := c.EnsureSharedSwitch(ctx, a, 1442); err != nil {
		t.Fatal(err)
	}
	_, err := c.EnsureSharedSwitch(ctx, sharedSwitch("host2"), 1442)
	if !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("joined with ICC on: %v", err)
	}
	usererrtest.Check(t, err, "OVN network prod")
}

// A switch deleted by hand leaves its port group, which reconciliation
// removes.
func TestPrunePortGroups(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	sw := testSwitch()
	sw.NoICC = true
	if _, err := c.EnsureSwitch(ctx, sw); err != nil {
		t.Fatal(err)
	}
	if gone, err := c.PrunePortGroups(ctx); err != nil || len(gone) != 0 {
		t.Fatalf("pruned a live one: %v %v", gone, err)
	}
	s.nbctl("ls-del", sw.Name)
	if gone, err := c.PrunePortGroups(ctx); err != nil || len(gone) != 1 {
		t.Fatalf("pruned %v %v", gone, err)
	}
	if got := s.nbctl("--bare", "--columns=_uuid", "list", "ACL"); got != "" {
		t.Fatalf("ACLs left: %q", got)
	}
}

// With ingress=exposed the network has its inbound drop and outbound
// allow-related; each endpoint that exposes ports has one ACL, made with
// its port, made anew (never doubled) by a retried CreateEndpoint, gone
// with its port.
func TestExposedIngressLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	sw, have := exposedSwitch(t, c)
	if have.Policy() != "ingress=exposed" {
		t.Fatalf("policy %q", have.Policy())
	}
	pg := nb.PortGroupName(sw.Name)
	web := testPort("ep1")
	web.Exposed = []nb.Exposed{{Proto: "tcp", Port: 80}, {Proto: "udp", Port: 53}}
	for range 2 { // CreateEndpoint, retried: the ACL comes with the port
		if _, err := c.EnsurePort(ctx, have, web); err != nil {
			t.Fatal(err)
		}
	}
	acl := s.nbctl("--bare", "--columns=_uuid", "find", "ACL", "priority=1002")
	if acl == "" || strings.Contains(acl, "\n") {
		t.Fatalf("ACLs of the port: %q", acl)
	}
	// Join, retried, with the ports in another order: nothing written.
	web.Exposed = []nb.Exposed{{Proto: "udp", Port: 53}, {Proto: "tcp", Port: 80}, {Proto: "udp", Port: 53}}
	for range 2 {
		if err := c.EnsureExposed(ctx, have, web); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.nbctl("--bare", "--columns=_uuid", "find", "ACL", "priority=1002"); got != acl {
		t.Fatalf("Join rewrote the port's ACL %s as %s", acl, got)
	}
	if _, err := c.EnsurePort(ctx, have, testPort("ep2")); err != nil { // exposes nothing
		t.Fatal(err)
	}
	got := s.nbctl("acl-list", pg)
	if n := len(strings.Split(got, "\n")); n != 3 || !contains(got,
		"to-lport  1001 (outport == @"+pg+" && ip) drop",
		"from-lport  1001 (inport == @"+pg+" && ip) allow-related",
		`to-lport  1002 (outport == "ep1" && (tcp.dst == 80 || udp.dst == 53)) allow-related`) {
		t.Fatalf("%d ACLs:\n%s", n, got)
	}
	if _, err := c.DeletePort(ctx, "ep1"); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("acl-list", pg); strings.Contains(got, "ep1") {
		t.Fatalf("ep1's ACL outlived its port:\n%s", got)
	}
	if _, err := c.DeleteSwitch(ctx, netID, "host1"); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("--bare", "--columns=_uuid", "list", "ACL"); got != "" {
		t.Fatalf("ACLs left: %q", got)
	}
}

// An endpoint's port deleted by hand leaves its ACL, which reconciliation
// removes.
func TestPruneEndpointACLs(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	sw, have := exposedSwitch(t, c)
	p := testPort("ep1")
	p.Exposed = []nb.Exposed{{Proto: "tcp", Port: 80}}
	if _, err := c.EnsurePort(ctx, have, p); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureExposed(ctx, have, p); err != nil {
		t.Fatal(err)
	}
	if gone, err := c.PrunePortGroups(ctx); err != nil || len(gone) != 0 {
		t.Fatalf("pruned a live one: %v %v", gone, err)
	}
	s.nbctl("lsp-del", "ep1")
	if gone, err := c.PrunePortGroups(ctx); err != nil || len(gone) != 1 {
		t.Fatalf("pruned %v %v", gone, err)
	}
	if got := s.nbctl("acl-list", nb.PortGroupName(sw.Name)); strings.Contains(got, "ep1") || strings.Count(got, "\n") != 1 {
		t.Fatalf("ACLs:\n%s", got)
	}
}
