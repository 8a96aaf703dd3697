package nb_test

import (
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// Each host keeps its endpoints' names, one DNS row per endpoint on the
// endpoint's switch; a retry writes nothing; names of endpoints that went
// are removed, by their host or, once the port is gone, by any host.
func TestSyncNames(t *testing.T) {
	s := startServer(t)
	ctx := testCtx(t)
	c := s.nb(t)
	routedPort(t, s, c, "ep1", "ep2")
	want := []nb.Names{
		{EndpointID: "ep1", NetworkID: "net1", Records: map[string]string{"web": "10.90.1.5", "api": "10.90.1.5"}},
		{EndpointID: "ep2", NetworkID: "net1", Records: map[string]string{"db": "10.90.1.6"}},
	}
	if w, r, err := c.SyncNames(ctx, "host1", want, nil); err != nil || w != 2 || r != 0 {
		t.Fatalf("first sync: %d written, %d removed, %v", w, r, err)
	}
	if w, r, err := c.SyncNames(ctx, "host1", want, nil); err != nil || w != 0 || r != 0 {
		t.Fatalf("a retry wrote %d, removed %d, %v", w, r, err)
	}
	if got := s.nbctl("--bare", "--columns=dns_records", "list", "Logical_Switch", "docker-net1"); len(strings.Fields(got)) != 2 {
		t.Fatalf("switch's DNS records: %q", got)
	}
	// Another host's sync leaves this host's rows alone.
	if w, r, err := c.SyncNames(ctx, "host2", nil, nil); err != nil || w+r != 0 {
		t.Fatalf("host2's sync: %d %d %v", w, r, err)
	}
	// A container that could not be read keeps its names; an endpoint
	// whose port is gone gets none.
	dead := nb.Names{EndpointID: "ep9", NetworkID: "net1", Records: map[string]string{"ghost": "10.90.1.9"}}
	if w, r, err := c.SyncNames(ctx, "host1", []nb.Names{want[1], dead}, []string{"ep1"}); err != nil || w != 0 || r != 0 {
		t.Fatalf("ep1 kept, ep9 dead: %d written, %d removed, %v", w, r, err)
	}
	want[0].Records = map[string]string{"web": "10.90.1.5"}
	if w, r, err := c.SyncNames(ctx, "host1", want[:1], nil); err != nil || w != 1 || r != 1 {
		t.Fatalf("alias and ep2 gone: %d written, %d removed, %v", w, r, err)
	}
	if got := s.nbctl("--bare", "--columns=records", "list", "DNS"); got != "web=10.90.1.5" {
		t.Fatalf("records %q", got)
	}
	// ep1's port is bound to host2 now (system-id changed): host1's row
	// goes, host2 writes its own.
	if err := c.BindPort(ctx, "ep1", "host2"); err != nil {
		t.Fatal(err)
	}
	if w, r, err := c.SyncNames(ctx, "host2", want[:1], nil); err != nil || w != 1 || r != 1 {
		t.Fatalf("host2 after the rebinding: %d written, %d removed, %v", w, r, err)
	}
	// ep1's port goes while its host is away: another host removes the row.
	if _, err := c.DeletePort(ctx, "ep1"); err != nil {
		t.Fatal(err)
	}
	if w, r, err := c.SyncNames(ctx, "host1", nil, nil); err != nil || w != 0 || r != 1 {
		t.Fatalf("host1 after ep1's port went: %d %d %v", w, r, err)
	}
	if got := s.nbctl("--bare", "--columns=_uuid", "list", "DNS"); got != "" {
		t.Fatalf("DNS rows left: %q", got)
	}
	if got := s.nbctl("--bare", "--columns=dns_records", "list", "Logical_Switch", "docker-net1"); got != "" {
		t.Fatalf("switch still names DNS rows: %q", got)
	}
}
