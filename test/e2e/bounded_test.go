package e2e

import (
	"strings"
	"testing"
	"time"
)

// Every call that needs NB gives up within --ovn-timeout while NB is
// frozen (the socket accepts, nothing answers), with a sentence naming
// OVN, and works again once NB answers. Before, a dynamic RequestAddress
// could wait without bound for libovsdb's cache to catch up, holding the
// pool's lock and queueing every other request behind it.
func TestCallsAreBoundedWhileNBIsFrozen(t *testing.T) {
	const timeout = 2 * time.Second
	restartPlugin(t, nil, "--ovn-timeout", timeout.String())
	c := newClient(t, socket)
	pool := "ovnlocal/10.243.0.0/24"
	pr := c.ok("/IpamDriver.RequestPool", map[string]any{"AddressSpace": "ovnlocal", "Pool": "10.243.0.0/24"})
	if pr["PoolID"] != pool {
		t.Fatalf("PoolID %v", pr["PoolID"])
	}
	t.Cleanup(func() { c.call("/IpamDriver.ReleasePool", map[string]any{"PoolID": pool}) })
	c.ok("/IpamDriver.RequestAddress", map[string]any{"PoolID": pool, "Address": "10.243.0.5"})
	nid := freshID()
	c.ok("/NetworkDriver.CreateNetwork", map[string]any{"NetworkID": nid, "IPv4Data": []map[string]any{
		{"AddressSpace": "ovnlocal", "Pool": "10.243.0.0/24"}}})
	t.Cleanup(func() { c.call("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid}) })

	calls := []struct {
		path string
		body map[string]any
	}{
		{"/IpamDriver.RequestAddress", map[string]any{"PoolID": pool, "Address": ""}},
		{"/IpamDriver.ReleaseAddress", map[string]any{"PoolID": pool, "Address": "10.243.0.5"}},
		{"/IpamDriver.ReleasePool", map[string]any{"PoolID": pool}},
		{"/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid}},
	}
	pid := freezeNB(t)
	for _, call := range calls {
		start := time.Now()
		_, e := c.call(call.path, call.body)
		took := time.Since(start)
		if !strings.Contains(e, "OVN northbound database") {
			t.Errorf("%s while NB is frozen: %q does not name OVN", call.path, e)
		}
		// Generous: unbounded waits last until the client gives up (30 s).
		if took > 3*timeout+2*time.Second {
			t.Errorf("%s took %s with --ovn-timeout %s", call.path, took.Round(time.Millisecond), timeout)
		}
		t.Logf("%s refused after %s: %s", call.path, took.Round(time.Millisecond), e)
	}
	thawNB(pid)
	// The frozen server runs the refused calls when it wakes up, so what
	// they did or did not do is unknown: once NB answers, the whole life
	// cycle must work from the start again.
	eventually(t, 30*time.Second, "NB answers again", func() error {
		if _, e := c.call("/IpamDriver.ReleasePool", map[string]any{"PoolID": pool}); e != "" {
			return errorString(e)
		}
		return nil
	})
	c.ok("/IpamDriver.RequestPool", map[string]any{"AddressSpace": "ovnlocal", "Pool": "10.243.0.0/24"})
	c.ok("/IpamDriver.RequestAddress", map[string]any{"PoolID": pool, "Address": "10.243.0.5"})
	for _, call := range calls {
		c.ok(call.path, call.body)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
