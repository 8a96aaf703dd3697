// Package nested drives containers inside a VM on OVN nested ports, on the
// bed of test/env/nested.sh: a hypervisor chassis hv, a VM on it running
// dockerd and ovn-docker --mode nested, and host1 of the multi-host bed as
// another chassis. `make test-nested` brings it up and runs it; when it is
// not up the suite fails and says how to bring it up.
package nested

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const (
	nestedScript = "../env/nested.sh"
	hostsScript  = "../env/hosts.sh"
	image        = "ovn-docker-test/busybox:latest"
	nbSock       = "unix:/var/lib/ovn-hosts/central/ovnnb_db.sock"
	vmPort       = "vm1"
)

func TestMain(m *testing.M) {
	for _, h := range []string{"vm", "host1"} {
		if _, err := sh(h, "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
			fmt.Fprintf(os.Stderr, "nested: %s is not up (%v)\n(run test/env/nested.sh up; make test-nested does)\n", h, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// sh runs a command in the VM (vm) or on a host of the bed (hostK).
func sh(where string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := hostsScript
	if where == "vm" || where == "hv" {
		script = nestedScript
	}
	out, err := exec.CommandContext(ctx, script, append([]string{"exec", where}, args...)...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%s: %s: %v: %s", where, strings.Join(args, " "), err, s)
	}
	return s, nil
}

func on(t *testing.T, where string, args ...string) string {
	t.Helper()
	out, err := sh(where, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func nbctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ovn-nbctl", append([]string{"--db=" + nbSock, "--timeout=10"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-nbctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// network makes the shared network on a machine, removed when the test ends.
func network(t *testing.T, where, name, subnet string) {
	t.Helper()
	sh(where, "docker", "network", "rm", name)
	on(t, where, "docker", "network", "create", "-d", "openvswitch", "--subnet", subnet, "-o", "ovn.network="+name,
		"--ipam-driver", "openvswitch", "--ipam-opt", "ovn.network="+name, name)
	t.Cleanup(func() { sh(where, "docker", "network", "rm", name) })
}

// run starts a container that answers TCP on 5000 with its name.
func run(t *testing.T, where, name, net string) string {
	t.Helper()
	sh(where, "docker", "rm", "-f", name)
	on(t, where, "docker", "run", "-d", "--name", name, "--net", net, image, "sh", "-c",
		"while true; do echo "+name+" | nc -l -p 5000; done")
	t.Cleanup(func() { sh(where, "docker", "rm", "-f", name) })
	return on(t, where, "docker", "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, net), name)
}

// reaches checks ICMP and TCP from a container to a listener's address.
func reaches(t *testing.T, where, from, addr, want string) {
	t.Helper()
	on(t, where, "docker", "exec", from, "ping", "-c", "1", "-W", "3", addr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := sh(where, "docker", "exec", from, "sh", "-c", "nc -w 3 "+addr+" 5000 </dev/null")
		if err == nil && out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("TCP from %s to %s: %q %v, want %q", from, addr, out, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Containers in a VM get nested ports of the VM's port, each with its own
// VLAN tag; they reach each other (their frames leave the VM tagged and
// OVN switches them) and a container on another chassis, both ways, ICMP
// and TCP, also after a docker restart; the VM runs no OVS; removal leaves
// no VLAN interface and no port.
func TestContainersInAVM(t *testing.T) {
	network(t, "vm", "nst", "10.181.0.0/24")
	network(t, "host1", "nst", "10.181.0.0/24")
	ip1, ip2 := run(t, "vm", "n1", "nst"), run(t, "vm", "n2", "nst")
	ip3 := run(t, "host1", "h1", "nst")

	ports := map[string]string{}
	for _, c := range []string{"n1", "n2"} {
		eid := on(t, "vm", "docker", "inspect", "-f", `{{.NetworkSettings.Networks.nst.EndpointID}}`, c)
		parent := nbctl(t, "get", "Logical_Switch_Port", eid, "parent_name")
		tag := nbctl(t, "get", "Logical_Switch_Port", eid, "tag")
		if parent != vmPort || tag == "[]" {
			t.Fatalf("%s's port %s: parent %s, tag %s; want parent %s and a tag", c, eid, parent, tag, vmPort)
		}
		for other, otherTag := range ports {
			if otherTag == tag {
				t.Fatalf("%s and %s share tag %s", c, other, tag)
			}
		}
		ports[c] = tag
	}
	reaches(t, "vm", "n1", ip2, "n2")
	reaches(t, "vm", "n2", ip1, "n1")
	reaches(t, "vm", "n1", ip3, "h1")
	reaches(t, "host1", "h1", ip1, "n1")
	reaches(t, "host1", "h1", ip2, "n2")

	// The frames left the VM tagged: the hypervisor took them in by tag.
	for c, tag := range ports {
		flows := on(t, "hv", "ovs-ofctl", "dump-flows", "br-int", "table=0,dl_vlan="+tag)
		if !strings.Contains(flows, "n_packets=") || strings.Contains(flows, "n_packets=0,") {
			t.Fatalf("no tagged frame of %s (tag %s) reached the hypervisor:\n%s", c, tag, flows)
		}
	}
	// ovn-docker status in the VM lists them, with their tags.
	st := on(t, "vm", "/run/vm/ovn-docker", "status", "--mode", "nested", "--parent-port", vmPort, "--nb", "tcp:10.0.2.100:6641")
	for c, tag := range ports {
		if !strings.Contains(st, "VLAN "+tag) {
			t.Fatalf("status in the VM does not show %s's tag %s:\n%s", c, tag, st)
		}
	}
	// A restarted container gets its port back and answers at once.
	on(t, "vm", "docker", "restart", "-t", "1", "n2")
	ip2 = on(t, "vm", "docker", "inspect", "-f", `{{.NetworkSettings.Networks.nst.IPAddress}}`, "n2")
	reaches(t, "host1", "h1", ip2, "n2")

	if out, err := sh("vm", "sh", "-c", "pgrep -l 'ovs-vswitchd|ovsdb-server|ovn-controller'; ls /run/openvswitch"); err == nil {
		t.Fatalf("the VM runs OVS: %s", out)
	}

	eid := on(t, "vm", "docker", "inspect", "-f", `{{.NetworkSettings.Networks.nst.EndpointID}}`, "n1")
	on(t, "vm", "docker", "rm", "-f", "n1")
	// n2's VLAN interface is in its container; n1's must be gone.
	if out := on(t, "vm", "ip", "-o", "link", "show", "type", "vlan"); out != "" {
		t.Fatalf("VLAN interfaces left in the VM after n1 went:\n%s", out)
	}
	if out := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+eid); out != "" {
		t.Fatalf("n1's port is left: %s", out)
	}
	reaches(t, "host1", "h1", ip2, "n2")
}

// pluginCall posts one driver call to the VM's plugin socket, as Docker
// would, and fails the test unless it succeeds.
func pluginCall(t *testing.T, call, body string) {
	t.Helper()
	out := on(t, "vm", "curl", "-sS", "--unix-socket", "/run/docker/plugins/openvswitch.sock", "-d", body,
		"http://plugin/NetworkDriver."+call)
	if strings.Contains(out, `"Err":"`) && !strings.Contains(out, `"Err":""`) {
		t.Fatalf("%s: %s", call, out)
	}
}

// An endpoint the VM's Docker does not have (its container removed while
// the plugin was down, or a call Docker never finished) loses its nested
// port and VLAN interface to reconciliation, after the grace period.
func TestOrphanedNestedEndpointIsRemoved(t *testing.T) {
	on(t, "vm", "true") // the VM answers
	if out, err := exec.Command(nestedScript, "plugin", "start", "--orphan-grace", "5s", "--reconcile-interval", "1s").CombinedOutput(); err != nil {
		t.Fatalf("plugin start: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(nestedScript, "plugin", "start").Run() })
	sh("vm", "docker", "network", "rm", "nso")
	nid := on(t, "vm", "docker", "network", "create", "-d", "openvswitch", "--subnet", "10.182.0.0/24", "nso")
	t.Cleanup(func() { sh("vm", "docker", "network", "rm", "nso") })
	eid := fmt.Sprintf("%064x", time.Now().UnixNano())
	pluginCall(t, "CreateEndpoint", fmt.Sprintf(`{"NetworkID":%q,"EndpointID":%q,"Interface":{"Address":"10.182.0.50/24"}}`, nid, eid))
	pluginCall(t, "Join", fmt.Sprintf(`{"NetworkID":%q,"EndpointID":%q,"SandboxKey":"/var/run/docker/netns/none"}`, nid, eid))
	if out := on(t, "vm", "ip", "-o", "link", "show", "type", "vlan"); !strings.Contains(out, "ovc"+eid[:12]) {
		t.Fatalf("Join made no VLAN interface: %q", out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		port := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+eid)
		vlans := on(t, "vm", "ip", "-o", "link", "show", "type", "vlan")
		if port == "" && vlans == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: port %q, VLAN interfaces %q", port, vlans)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
