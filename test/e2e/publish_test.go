package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

// serve starts a detached container answering TCP on 80 ("web") and 90
// ("other"), with args before the image; removed when the test ends.
func serve(t *testing.T, name string, args ...string) {
	t.Helper()
	sh("docker", "rm", "-f", name)
	script := `(while true; do echo web | nc -l -p 80; done) & while true; do echo other | nc -l -p 90; done`
	docker(t, append(append([]string{"run", "-d", "--name", name}, args...), image, "sh", "-c", script)...)
	t.Cleanup(func() { sh("docker", "rm", "-f", name) })
}

// readFromOutside waits for the container's listener and returns what it
// said to a TCP connection from the outside to addr:port.
func readFromOutside(t *testing.T, addr string, port int) string {
	t.Helper()
	var got string
	eventually(t, 30*time.Second, fmt.Sprintf("TCP from the outside to %s:%d", addr, port), func() (err error) {
		got, err = outside.Read(addr, port)
		return err
	})
	return got
}

// published reads the published ports from ovn-docker status.
func published(t *testing.T) map[string]string {
	t.Helper()
	var r struct {
		Published []struct {
			Proto              string `json:"protocol"`
			External, Internal string
		} `json:"published_ports"`
	}
	if err := json.Unmarshal([]byte(must(t, plug.bin, "status", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range r.Published {
		out[p.Internal+"/"+p.Proto] = p.External
	}
	return out
}

// docker run -p on a routed network publishes on the router's address, in
// OVN: TCP and UDP from the outside reach the container (which sees the
// client's own address), -p PORT gets a free host port, docker restart
// keeps them, and they go with the container.
func TestPublishedPorts(t *testing.T) {
	setOutside(t)
	createNetwork(t, "pp-a", "--subnet", "10.208.0.0/24", "-o", "ovn.router=pp1")
	serve(t, "pp-web", "--net", "pp-a", "-p", "8080:80", "-p", "90", "-p", "5353:53/udp")
	ext := nbctl(t, "--bare", "--columns=external_ip", "find", "NAT", "logical_ip=10.208.0.0/24")
	if got := readFromOutside(t, ext, 8080); got != "web" {
		t.Fatalf("%s:8080 answered %q", ext, got)
	}
	ip := containerIP(t, "pp-web", "pp-a")
	pub := published(t)
	if pub[ip+":80/tcp"] != ext+":8080" || pub[ip+":90/tcp"] != ext+":32768" || pub[ip+":53/udp"] != ext+":5353" {
		t.Fatalf("ovn-docker status shows %v", pub)
	}
	if got := readFromOutside(t, ext, 32768); got != "other" {
		t.Fatalf("%s:32768 (-p 90) answered %q", ext, got)
	}
	stop, err := outside.UDPEcho(docker(t, "inspect", "-f", "{{.State.Pid}}", "pp-web"), 53)
	if err != nil {
		t.Fatal(err)
	}
	got, err := outside.Ask(ext, 5353, "ping")
	stop()
	if err != nil || got != "echo:ping from:"+outside.NextHop {
		t.Fatalf("UDP %s:5353 answered %q, %v", ext, got, err)
	}
	// Docker shows no remote driver's bindings (docs/protocol.md).
	if got := docker(t, "port", "pp-web"); got != "" {
		t.Fatalf("docker port shows %q: update docs/design.md#published-ports", got)
	}

	// A host port taken, or an address the router does not have: refused
	// by name, and the container leaves nothing behind.
	before := nbctl(t, "--bare", "--columns=_uuid", "list", "Load_Balancer")
	for arg, want := range map[string]string{
		"8080:80":           "host port 8080/tcp on " + ext + " of router pp1 is published already",
		"127.0.0.1:8081:80": "port 80/tcp cannot be published on 127.0.0.1",
	} {
		out, err := sh("docker", "run", "--rm", "--net", "pp-a", "-p", arg, image, "true")
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("-p %s: %v: %s", arg, err, out)
		}
	}
	if got := nbctl(t, "--bare", "--columns=_uuid", "list", "Load_Balancer"); got != before {
		t.Fatalf("refused containers left load balancers: %q, before %q", got, before)
	}

	docker(t, "restart", "-t", "1", "pp-web")
	if got := readFromOutside(t, ext, 8080); got != "web" {
		t.Fatalf("after docker restart, %s:8080 answered %q", ext, got)
	}
	docker(t, "rm", "-f", "pp-web")
	if got := nbctl(t, "--bare", "--columns=_uuid", "list", "Load_Balancer"); got != "" {
		t.Fatalf("load balancers left: %q", got)
	}
	if got := nbctl(t, "--bare", "--columns=load_balancer", "list", "Logical_Router", "pp1"); got != "" {
		t.Fatalf("router pp1 still names load balancers: %q", got)
	}
	if out, err := outside.Read(ext, 8080); err == nil {
		t.Fatalf("%s:8080 still answers after the container went: %q", ext, out)
	}
}

// A container removed while NB does not answer: Revoke and DeleteEndpoint
// fail, Docker forgets the container, reconciliation removes its port and
// published ports. (With the plugin stopped instead, Docker retries each
// call for 15 s before it gives up; the rest is the same.)
func TestPublishedPortsOfAContainerRemovedWhileNBFrozen(t *testing.T) {
	restartPlugin(t, nil, append([]string{"--ovn-timeout", "2s"}, fast...)...)
	setOutside(t)
	createNetwork(t, "pp-b", "--subnet", "10.209.0.0/24", "-o", "ovn.router=pp2")
	serve(t, "pp-gone", "--net", "pp-b", "-p", "8081:80")
	if lbs := nbctl(t, "--bare", "--columns=name", "list", "Load_Balancer"); lbs == "" {
		t.Fatal("no load balancer for -p 8081:80")
	}
	pid := freezeNB(t)
	docker(t, "rm", "-f", "pp-gone")
	thawNB(pid)
	eventually(t, 30*time.Second, "published ports of the removed container removed", func() error {
		if lbs, _ := sh("ovn-nbctl", "--bare", "--columns=name", "list", "Load_Balancer"); lbs != "" {
			return fmt.Errorf("load balancers %q", lbs)
		}
		return nil
	})
}
