package nb_test

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

var (
	web     = netip.MustParseAddr("10.90.1.5")
	tcp8080 = nb.Binding{Proto: "tcp", Port: 80, HostPort: 8080, HostPortEnd: 8080}
	udp53   = nb.Binding{Proto: "udp", Port: 53} // host port: any
)

// routedPort makes a routed network on router r1 (with the outside set)
// and an endpoint port on it.
func routedPort(t *testing.T, s *testServer, c *nb.Client, eps ...string) {
	t.Helper()
	ctx := testCtx(t)
	if err := c.SetExternal(ctx, outside); err != nil {
		t.Fatal(err)
	}
	attach(t, c, routedSwitch(1, "r1"))
	sw, err := c.Switch(ctx, "net1")
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		if _, err := c.EnsurePort(ctx, sw, nb.Port{Name: ep, NetworkID: "net1", EndpointID: ep, MAC: "02:42:0a:5a:01:05",
			IPs: []string{web.String()}, Chassis: "host1"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPublishedPortsLifecycle(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	routedPort(t, s, c, "ep1", "ep2")
	var uuids string
	for i := range 2 { // a retry changes nothing
		pub, err := c.Publish(ctx, "r1", "ep1", web, []nb.Binding{tcp8080, udp53})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(pub) != "[172.30.0.2:8080/tcp -> 10.90.1.5:80 172.30.0.2:32768/udp -> 10.90.1.5:53]" {
			t.Fatalf("published %v", pub)
		}
		got := s.nbctl("--bare", "--columns=_uuid", "find", "Load_Balancer", "external_ids:\"docker:endpoint-id\"=ep1")
		if i == 1 && got != uuids {
			t.Fatalf("a retry replaced the load balancers: %q, then %q", uuids, got)
		}
		uuids = got
	}
	if got := s.nbctl("lr-lb-list", "r1"); !contains(got, "docker-ep1-tcp", "172.30.0.2:8080", "10.90.1.5:80",
		"docker-ep1-udp", "172.30.0.2:32768", "10.90.1.5:53") {
		t.Fatalf("router's load balancers: %q", got)
	}
	// Another container wants the same host port, or an address the
	// router does not have.
	_, err := c.Publish(ctx, "r1", "ep2", web, []nb.Binding{tcp8080})
	if !errors.Is(err, ovs.ErrTaken) {
		t.Fatalf("host port taken twice: %v", err)
	}
	usererrtest.Check(t, err, "host port 8080/tcp on 172.30.0.2 of router r1")
	_, err = c.Publish(ctx, "r1", "ep2", web, []nb.Binding{{Proto: "tcp", Port: 80, HostIP: netip.MustParseAddr("127.0.0.1")}})
	usererrtest.Check(t, err, "127.0.0.1")
	// Any free port, and a range, go around the ports taken.
	pub, err := c.Publish(ctx, "r1", "ep2", web, []nb.Binding{udp53, {Proto: "tcp", Port: 81, HostPort: 8080, HostPortEnd: 8090}})
	if err != nil || fmt.Sprint(pub) != "[172.30.0.2:32769/udp -> 10.90.1.5:53 172.30.0.2:8081/tcp -> 10.90.1.5:81]" {
		t.Fatalf("ep2 published %v, %v", pub, err)
	}
	all, err := c.PublishedPorts(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("published ports: %v %v", all, err)
	}
	// Published again with less: exactly that is left.
	if _, err := c.Publish(ctx, "r1", "ep1", web, []nb.Binding{tcp8080}); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("--bare", "--columns=name", "find", "Load_Balancer", "external_ids:\"docker:endpoint-id\"=ep1"); got != "docker-ep1-tcp" {
		t.Fatalf("ep1's load balancers: %q", got)
	}
	for range 2 {
		if _, err := c.Unpublish(ctx, "ep1"); err != nil {
			t.Fatal(err)
		}
	}
	// ep2's port goes without its load balancers (a crash, or the plugin
	// down): reconciliation removes them.
	if _, err := c.DeletePort(ctx, "ep2"); err != nil {
		t.Fatal(err)
	}
	if gone, err := c.PrunePublished(ctx); err != nil || len(gone) != 2 {
		t.Fatalf("pruned %v %v", gone, err)
	}
	if got := s.nbctl("--bare", "--columns=_uuid", "list", "Load_Balancer"); got != "" {
		t.Fatalf("load balancers left: %q", got)
	}
	if got := s.nbctl("--bare", "--columns=load_balancer", "list", "Logical_Router", "r1"); got != "" {
		t.Fatalf("router still names load balancers: %q", got)
	}
}

func TestPublishNeedsAnUplink(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	attach(t, c, routedSwitch(1, "r1"))
	_, err := c.Publish(ctx, "r1", "ep1", web, []nb.Binding{tcp8080})
	usererrtest.Check(t, err, "logical router r1")
	_, err = c.Publish(ctx, "r9", "ep1", web, []nb.Binding{tcp8080})
	if !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("router gone: %v", err)
	}
	usererrtest.Check(t, err, "logical router r9")
}

// Daemons on several hosts publishing one host port at once: exactly one
// gets it, the others hear who has it.
func TestPublishRacesTakeAPortOnce(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	clients := []*nb.Client{s.nb(t), s.nb(t), s.nb(t), s.nb(t)}
	routedPort(t, s, clients[0], "ep0", "ep1", "ep2", "ep3")
	var wg sync.WaitGroup
	errs := make([]error, len(clients))
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Publish(ctx, "r1", fmt.Sprintf("ep%d", i), web, []nb.Binding{tcp8080, udp53})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ovs.ErrTaken):
			t.Errorf("lost with %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d publishers got 8080/tcp: %v", won, errs)
	}
	if got := s.nbctl("--bare", "--columns=vips", "list", "Load_Balancer"); !contains(got, "172.30.0.2:8080", "172.30.0.2:32768") {
		t.Fatalf("VIPs %q", got)
	}
}
