package e2e

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// Two ovn-docker processes on two sockets, one NB: hundreds of concurrent
// RequestAddress calls on each, on one pool, never give one address twice.
func TestTwoDaemonsOneNB(t *testing.T) {
	srv := ovsdbtest.Start(t)
	srv.Vsctl("set", "open", ".", "external-ids:system-id=race")
	dir := t.TempDir()
	var clients []*client
	for _, name := range []string{"a", "b"} {
		p := &pluginProc{bin: plug.bin, log: plug.log, socket: filepath.Join(dir, name+".sock")}
		if err := p.start("--nb", srv.Endpoint(), "--ovs", srv.Endpoint(), "--docker", "", "--log-level", "info"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.stop)
		clients = append(clients, newClient(t, p.socket))
	}
	pool := clients[0].ok("/IpamDriver.RequestPool", map[string]any{"AddressSpace": "ovnlocal", "Pool": "10.70.0.0/22"})
	id := pool["PoolID"].(string)
	const each = 250
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i, c := range clients {
		for n := 0; n < each; n++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, e := c.call("/IpamDriver.RequestAddress", map[string]any{"PoolID": id, "Address": ""})
				if e != "" {
					t.Error(e)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				a := out["Address"].(string)
				if d, dup := got[a]; dup {
					t.Errorf("%s handed out by daemon %d and daemon %d", a, d, i)
				}
				got[a] = i
			}()
		}
	}
	wg.Wait()
	if len(got) != 2*each {
		t.Fatalf("%d distinct addresses for %d requests", len(got), 2*each)
	}
	claims := claimKeys(srv.Nbctl("--bare", "--columns=external_ids", "find", "Address_Set", `external_ids:"docker:ipam-kind"=block`))
	if len(claims) != 2*each {
		t.Fatalf("NB holds %d claims, want %d", len(claims), 2*each)
	}
}
