package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests speak Docker's protocol to the plugin directly, with the
// bodies recorded from Docker 20.10, against the real OVN and OVS: retries,
// calls out of order and unknown IDs, which the docker CLI cannot produce.

type client struct {
	t *testing.T
	c *http.Client
}

func newClient(t *testing.T, sock string) *client {
	return &client{t: t, c: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}}
}

// call posts body to path and returns the reply's Err ("" on success).
func (c *client) call(path string, body any) (map[string]any, string) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := c.c.Post("http://plugin"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		c.t.Fatalf("%s: reply is not JSON: %v", path, err)
	}
	errText, _ := out["Err"].(string)
	return out, errText
}

func (c *client) ok(path string, body any) map[string]any {
	c.t.Helper()
	out, e := c.call(path, body)
	if e != "" {
		c.t.Fatalf("%s: %s", path, e)
	}
	return out
}

// recorded loads a recorded body with its IDs replaced by fresh ones.
func recorded(t *testing.T, name string, ids map[string]string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "docker-20.10", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for from, to := range ids {
		s = strings.ReplaceAll(s, from, to)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func freshID() string { return fmt.Sprintf("%016x%048x", time.Now().UnixNano(), 0xe2e) }

const (
	recNet = "f783e94b14dbeed627d30b78715394fb2f6d9d45dabd41a276527b8a753bcf8f"
	recEP  = "0ba3fc4a3da1f9f453340558f9df4e94f84ab7c24c691aa961ef7388c4b2c9bd"
)

func TestRetriesAndDisorderAgainstRealOVN(t *testing.T) {
	c := newClient(t, socket)
	nid, eid := freshID(), freshID()[:63]+"1"
	ids := map[string]string{recNet: nid, recEP: eid}
	netReq := map[string]any{"NetworkID": nid, "Options": map[string]any{"com.docker.network.generic": map[string]any{}},
		"IPv4Data": []map[string]any{{"Pool": "10.77.0.0/24", "Gateway": "10.77.0.1/24"}}}
	ls := switchOf(nid)
	t.Cleanup(func() { c.call("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid}) })

	// Docker retries a call whose reply it did not get: twice is once.
	for i := 0; i < 2; i++ {
		c.ok("/NetworkDriver.CreateNetwork", netReq)
	}
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", "name="+ls); got != ls {
		t.Fatalf("switches named %s: %q", ls, got)
	}
	ep := recorded(t, "NetworkDriver.CreateEndpoint.ports.json", ids)
	for i := 0; i < 2; i++ {
		c.ok("/NetworkDriver.CreateEndpoint", ep)
	}
	if got := nbctl(t, "lsp-list", ls); strings.Count(got, eid) != 1 {
		t.Fatalf("ports on %s: %q", ls, got)
	}
	join := recorded(t, "NetworkDriver.Join.json", ids)
	for i := 0; i < 2; i++ {
		out := c.ok("/NetworkDriver.Join", join)
		if name := out["InterfaceName"].(map[string]any)["SrcName"]; name != "ovc"+eid[:12] {
			t.Fatalf("SrcName %v", name)
		}
	}
	host := "ovh" + eid[:12]
	if got := vsctl(t, "list-ports", "br-int"); strings.Count(got, host) != 1 {
		t.Fatalf("br-int ports: %q", got)
	}
	// The ends Docker has not moved yet carry the MTU and Docker's MAC.
	if out := must(t, "ip", "-o", "link", "show", "ovc"+eid[:12]); !strings.Contains(out, "02:42:a4:45:1f:a6") || !strings.Contains(out, "mtu "+defaultMTU(t)) {
		t.Fatalf("container end: %s", out)
	}
	info := c.ok("/NetworkDriver.EndpointOperInfo", map[string]any{"NetworkID": nid, "EndpointID": eid})
	if v := info["Value"].(map[string]any); v["logical_port"] != eid || v["ovn_installed"] != "true" {
		t.Fatalf("EndpointOperInfo %v", v)
	}
	// Out of order: DeleteEndpoint before Leave still cleans up everything.
	del := recorded(t, "NetworkDriver.DeleteEndpoint.json", ids)
	c.ok("/NetworkDriver.DeleteEndpoint", del)
	c.ok("/NetworkDriver.Leave", recorded(t, "NetworkDriver.Leave.json", ids))
	c.ok("/NetworkDriver.DeleteEndpoint", del)
	if got := vsctl(t, "list-ports", "br-int"); strings.Contains(got, host) {
		t.Fatalf("OVS port left: %q", got)
	}
	if got := nbctl(t, "lsp-list", ls); got != "" {
		t.Fatalf("logical ports left: %q", got)
	}
	eventually(t, 5*time.Second, "veth "+host+" deleted", func() error {
		if _, err := sh("ip", "link", "show", host); err == nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
	for i := 0; i < 2; i++ {
		c.ok("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid})
	}
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", "name="+ls); got != "" {
		t.Fatalf("switch left: %q", got)
	}
}

func TestUnknownIDs(t *testing.T) {
	c := newClient(t, socket)
	nid, eid := freshID(), freshID()[:63]+"2"
	for _, path := range []string{"/NetworkDriver.Leave", "/NetworkDriver.DeleteEndpoint"} {
		c.ok(path, map[string]any{"NetworkID": nid, "EndpointID": eid})
	}
	c.ok("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid})
	for path, want := range map[string]string{
		"/NetworkDriver.Join":             "is not known to the openvswitch driver",
		"/NetworkDriver.EndpointOperInfo": "is not known to the openvswitch driver",
		"/NetworkDriver.CreateEndpoint":   "network " + nid[:12] + " is not known",
	} {
		if _, e := c.call(path, map[string]any{"NetworkID": nid, "EndpointID": eid,
			"Interface": map[string]any{"Address": "10.0.0.2/24"}}); !strings.Contains(e, want) {
			t.Errorf("%s: %q does not say %q", path, e, want)
		}
	}
}

// With the integration bridge missing, Join fails with a sentence naming it
// and leaves no veth behind.
func TestMissingBridge(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nobridge.sock")
	p := &pluginProc{bin: plug.bin, log: plug.log, socket: sock}
	if err := p.start("--bridge", "br-nope"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	c := newClient(t, sock)
	nid, eid := freshID(), freshID()[:63]+"3"
	c.ok("/NetworkDriver.CreateNetwork", map[string]any{"NetworkID": nid, "IPv4Data": []map[string]any{{"Pool": "10.78.0.0/24"}}})
	t.Cleanup(func() { c.call("/NetworkDriver.DeleteNetwork", map[string]any{"NetworkID": nid}) })
	c.ok("/NetworkDriver.CreateEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid,
		"Interface": map[string]any{"Address": "10.78.0.2/24"}})
	_, e := c.call("/NetworkDriver.Join", map[string]any{"NetworkID": nid, "EndpointID": eid})
	if !strings.Contains(e, "integration bridge br-nope does not exist") {
		t.Fatalf("Join error %q", e)
	}
	if _, err := sh("ip", "link", "show", "ovh"+eid[:12]); err == nil {
		t.Fatal("veth left behind by the failed Join")
	}
	c.ok("/NetworkDriver.DeleteEndpoint", map[string]any{"NetworkID": nid, "EndpointID": eid})
}
