package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// raftMember is one ovsdb-server of a clustered Northbound database.
type raftMember struct {
	client, raft int
	dir          string
	cmd          *exec.Cmd
}

func (m *raftMember) ctl() string    { return filepath.Join(m.dir, "ctl"+strconv.Itoa(m.client)) }
func (m *raftMember) remote() string { return fmt.Sprintf("tcp:127.0.0.1:%d", m.client) }

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCluster runs a 3-member NB cluster on loopback ports.
func startCluster(t *testing.T) []*raftMember {
	dir := t.TempDir()
	schema := "../../ovs/nbdb/ovn-nb.ovsschema"
	var ms []*raftMember
	for i := 0; i < 3; i++ {
		m := &raftMember{client: freePort(t), raft: freePort(t), dir: dir}
		db := filepath.Join(dir, fmt.Sprintf("nb%d.db", i))
		self := fmt.Sprintf("tcp:127.0.0.1:%d", m.raft)
		if i == 0 {
			must(t, "ovsdb-tool", "create-cluster", db, schema, self)
		} else {
			must(t, "ovsdb-tool", "join-cluster", db, "OVN_Northbound", self, fmt.Sprintf("tcp:127.0.0.1:%d", ms[0].raft))
		}
		m.cmd = exec.Command("ovsdb-server", "--remote=ptcp:"+strconv.Itoa(m.client)+":127.0.0.1",
			"--unixctl="+m.ctl(), "--log-file="+filepath.Join(dir, fmt.Sprintf("nb%d.log", i)), "-vconsole:off", db)
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.cmd.Process.Kill(); m.cmd.Wait() })
		ms = append(ms, m)
	}
	eventually(t, 30*time.Second, "cluster formed", func() error {
		for _, m := range ms {
			out, err := sh("ovs-appctl", "-t", m.ctl(), "cluster/status", "OVN_Northbound")
			if err != nil || !strings.Contains(out, "Status: cluster member") {
				return fmt.Errorf("member %d: %v %s", m.client, err, out)
			}
		}
		_, err := leader(ms)
		return err
	})
	return ms
}

func leader(ms []*raftMember) (*raftMember, error) {
	for _, m := range ms {
		if out, err := sh("ovs-appctl", "-t", m.ctl(), "cluster/status", "OVN_Northbound"); err == nil && strings.Contains(out, "Role: leader") {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no leader")
}

// A burst of network and endpoint creations against a 3-member NB cluster
// whose leader is killed in the middle: every call succeeds or fails with a
// clear error (and then succeeds when retried, as Docker or a user would),
// and afterwards NB holds no duplicate and, once all is deleted, no leak.
func TestFaultRaftLeaderKilled(t *testing.T) {
	ms := startCluster(t)
	var remotes []string
	for _, m := range ms {
		remotes = append(remotes, m.remote())
	}
	nb := strings.Join(remotes, ",")
	vs := ovsdbtest.Start(t)
	vs.Vsctl("set", "open", ".", "external-ids:system-id=raft-host")
	p := &pluginProc{bin: plug.bin, log: plug.log, socket: filepath.Join(t.TempDir(), "raft.sock")}
	if err := p.start("--nb", nb, "--ovs", vs.Endpoint(), "--docker", "", "--ovn-timeout", "20s", "--log-level", "info"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	c := newClient(t, p.socket)

	const networks, perNet = 10, 10
	var mu sync.Mutex
	var calls, failures int
	var unclear []string
	seen := map[string]bool{}
	// call retries like Docker's caller would, recording how failures read.
	call := func(path string, body map[string]any) {
		for attempt := 0; ; attempt++ {
			_, e := c.call(path, body)
			mu.Lock()
			calls++
			if e != "" {
				failures++
				seen[e] = true
				if !strings.Contains(e, "OVN northbound database") {
					unclear = append(unclear, e)
				}
			}
			mu.Unlock()
			if e == "" {
				return
			}
			if attempt == 10 {
				t.Errorf("%s still failing: %s", path, e)
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	netID := func(n int) string { return fmt.Sprintf("%012x%052x", 0xaf000+n, 0) }
	epID := func(n, e int) string { return fmt.Sprintf("%08x%04x%052x", 0xaf000+n, e, 1) }
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for n := 0; n < networks; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call("/NetworkDriver.CreateNetwork", map[string]any{"NetworkID": netID(n),
				"IPv4Data": []map[string]any{{"Pool": fmt.Sprintf("10.%d.0.0/24", 150+n)}}})
			for e := 0; e < perNet; e++ {
				if n == 0 && e == 3 {
					close(killed)
				}
				call("/NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": netID(n), "EndpointID": epID(n, e),
					"Interface": map[string]any{"Address": fmt.Sprintf("10.%d.0.%d/24", 150+n, 10+e)}})
			}
		}()
	}
	<-killed
	l, err := leader(ms)
	if err != nil {
		t.Fatal(err)
	}
	l.cmd.Process.Kill()
	t.Logf("killed the leader (tcp:%d) in the middle of the burst", l.client)
	wg.Wait()
	t.Logf("%d calls, %d failed and were retried; their errors:", calls, failures)
	for e := range seen {
		t.Logf("  %s", e)
	}
	if len(unclear) > 0 {
		t.Fatalf("unclear errors: %q", unclear)
	}
	nbctl := func(args ...string) string {
		return must(t, "ovn-nbctl", append([]string{"--db=" + nb, "--timeout=20"}, args...)...)
	}
	switches := lines(nbctl("--bare", "--columns=name", "find", "Logical_Switch", `external_ids:"docker:owner"=ovn-docker`))
	ports := lines(nbctl("--bare", "--columns=name", "find", "Logical_Switch_Port", `external_ids:"docker:owner"=ovn-docker`))
	if len(switches) != networks || len(ports) != networks*perNet || hasDup(switches) || hasDup(ports) {
		t.Fatalf("%d switches, %d ports (want %d and %d, no duplicates)", len(switches), len(ports), networks, networks*perNet)
	}
	for n := 0; n < networks; n++ {
		for e := 0; e < perNet; e++ {
			call("/NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": netID(n), "EndpointID": epID(n, e)})
		}
		call("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": netID(n)})
	}
	if got := nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port"); got != "" {
		t.Fatalf("ports leaked: %s", got)
	}
	if got := nbctl("--bare", "--columns=name", "list", "Logical_Switch"); got != "" {
		t.Fatalf("switches leaked: %s", got)
	}
}

func hasDup(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return true
		}
	}
	return false
}
