package nb_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

const netID = "f783e94b14dbeed627d30b78715394fb2f6d9d45dabd41a276527b8a753bcf8f"

func testSwitch() nb.Switch {
	return nb.Switch{Name: "docker-f783e94b14db", NetworkID: netID, Subnets: []string{"10.77.0.0/24", "fd00:1::/64"},
		Gateways: []string{"10.77.0.1/24"}, MTU: 1442}
}

func TestEnsureSwitchIsIdempotent(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	ctx := testCtx(t)
	// Concurrent retries must still give one switch: the guard is server-side.
	var wg sync.WaitGroup
	created := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := c.EnsureSwitch(ctx, testSwitch())
			if err != nil {
				t.Error(err)
			}
			created <- c
		}()
	}
	wg.Wait()
	close(created)
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d calls reported creating the switch, want 1", n)
	}
	if got := s.nbctl("--bare", "--columns=name", "find", "Logical_Switch", "name=docker-f783e94b14db"); got != "docker-f783e94b14db" {
		t.Fatalf("NB holds %q, want exactly one switch", got)
	}
	ids := s.nbctl("get", "Logical_Switch", "docker-f783e94b14db", "external_ids")
	for _, want := range []string{`"docker:owner"=ovn-docker`, `"docker:network-id"=` + netID, `"docker:mtu"="1442"`, `"docker:subnets"="10.77.0.0/24,fd00:1::/64"`, `"docker:gateways"="10.77.0.1/24"`} {
		if !strings.Contains(ids, want) {
			t.Errorf("external_ids %s lacks %s", ids, want)
		}
	}
	sw, err := c.Switch(ctx, netID)
	if err != nil {
		t.Fatal(err)
	}
	if sw.MTU != 1442 || len(sw.Subnets) != 2 || sw.Name != "docker-f783e94b14db" {
		t.Fatalf("read back %+v", sw)
	}
}

func TestEnsureSwitchRefusesForeignSwitch(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	s.nbctl("ls-add", "docker-f783e94b14db")
	_, err := c.EnsureSwitch(testCtx(t), testSwitch())
	if !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("got %v, want ovs.ErrConflict", err)
	}
	if _, err := c.DeleteSwitch(testCtx(t), netID, "host1"); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch"); got != "docker-f783e94b14db" {
		t.Fatalf("foreign switch touched: %q", got)
	}
}

func testPort(id string) nb.Port {
	return nb.Port{Name: id, NetworkID: netID, EndpointID: id,
		MAC: "02:42:0a:4d:00:03", IPs: []string{"10.77.0.3", "fd00:1::3"}, Chassis: "host1"}
}

func TestPortLifecycle(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	ctx := testCtx(t)
	if _, err := c.EnsureSwitch(ctx, testSwitch()); err != nil {
		t.Fatal(err)
	}
	p := testPort("ep1")
	if created, err := c.EnsurePort(ctx, mustSwitch(t, c), p); err != nil || !created {
		t.Fatalf("EnsurePort: %v %v", created, err)
	}
	// A retry with a changed address brings the port to the new spec.
	p.IPs = []string{"10.77.0.4"}
	if created, err := c.EnsurePort(ctx, mustSwitch(t, c), p); err != nil || created {
		t.Fatalf("retried EnsurePort: %v %v", created, err)
	}
	if got := s.nbctl("lsp-get-addresses", "ep1"); got != "02:42:0a:4d:00:03 10.77.0.4" {
		t.Fatalf("addresses %q", got)
	}
	if got := s.nbctl("lsp-get-port-security", "ep1"); got != "02:42:0a:4d:00:03 10.77.0.4" {
		t.Fatalf("port_security %q", got)
	}
	if got := s.nbctl("get", "Logical_Switch_Port", "ep1", "options:requested-chassis"); got != "host1" {
		t.Fatalf("requested-chassis %q", got)
	}
	if got := s.nbctl("lsp-list", "docker-f783e94b14db"); !strings.Contains(got, "(ep1)") {
		t.Fatalf("switch ports %q", got)
	}
	got, err := c.Port(ctx, "ep1")
	if err != nil || got.MAC != "02:42:0a:4d:00:03" || got.NetworkID != netID {
		t.Fatalf("Port: %+v %v", got, err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.DeletePort(ctx, "ep1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port"); got != "" {
		t.Fatalf("ports left: %q", got)
	}
	if _, err := c.Port(ctx, "ep1"); !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("Port after delete: %v", err)
	}
}

func TestPortOnMissingNetwork(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	gone := &nb.Switch{UUID: "f0e1d2c3-0000-4000-8000-000000000000", Name: "docker-f783e94b14db", NetworkID: netID}
	_, err := c.EnsurePort(testCtx(t), gone, testPort("ep1"))
	if !errors.Is(err, ovs.ErrNotFound) {
		t.Fatalf("got %v, want ovs.ErrNotFound", err)
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port"); got != "" {
		t.Fatalf("port left behind: %q", got)
	}
}

func TestDeleteSwitchTakesItsPorts(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	ctx := testCtx(t)
	if _, err := c.EnsureSwitch(ctx, testSwitch()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsurePort(ctx, mustSwitch(t, c), testPort("ep1")); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		deleted, err := c.DeleteSwitch(ctx, netID, "host1")
		if err != nil || deleted != want {
			t.Fatalf("DeleteSwitch #%d: %v %v", i, deleted, err)
		}
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port"); got != "" {
		t.Fatalf("ports left: %q", got)
	}
	if got := s.nbctl("--bare", "--columns=name", "list", "Logical_Switch"); got != "" {
		t.Fatalf("switches left: %q", got)
	}
}

func TestDeletePortRefusesForeignPort(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	s.nbctl("ls-add", "other", "--", "lsp-add", "other", "theirs")
	if _, err := c.DeletePort(testCtx(t), "theirs"); !errors.Is(err, ovs.ErrConflict) {
		t.Fatalf("got %v, want ovs.ErrConflict", err)
	}
	if got := s.nbctl("lsp-list", "other"); !strings.Contains(got, "theirs") {
		t.Fatalf("foreign port touched: %q", got)
	}
}

// mustSwitch reads the test network's switch, which EnsurePort adds to.
func mustSwitch(t *testing.T, c *nb.Client) *nb.Switch {
	t.Helper()
	sw, err := c.Switch(testCtx(t), netID)
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

func TestUnreachableThenReconnect(t *testing.T) {
	s := startServer(t)
	s.stop()
	c := s.nb(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.EnsureSwitch(ctx, testSwitch())
	if !errors.Is(err, ovs.ErrUnavailable) || !strings.Contains(err.Error(), "OVN northbound database") || !strings.Contains(err.Error(), s.Sock) {
		t.Fatalf("call while NB is down: %v", err)
	}
	s.start()
	if _, err := c.EnsureSwitch(testCtx(t), testSwitch()); err != nil {
		t.Fatalf("after NB came up: %v", err)
	}
	// A restart of the server after the first connection: libovsdb reconnects.
	s.stop()
	s.start()
	ctx2 := testCtx(t)
	var sw *nb.Switch
	for sw == nil {
		sw, err = c.Switch(ctx2, netID)
		if err != nil && !errors.Is(err, ovs.ErrUnavailable) {
			t.Fatalf("after NB restart: %v", err)
		}
		if ctx2.Err() != nil {
			t.Fatalf("no reconnection: %v", err)
		}
	}
}
