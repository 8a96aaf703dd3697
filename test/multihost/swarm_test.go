package multihost

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The swarm tests: the hosts form a swarm (hosts.sh swarm up: host1
// manages, host2 and host3 work), and each gets the managed plugin from
// make plugin, which on a swarm node runs it with OVN_DOCKER_SCOPE=swarm.
// Both go when the test ends, so the other tests see hosts outside a swarm.
func TestSwarm(t *testing.T) {
	swarmBed(t)
	t.Run("attachable network, Docker's IPAM", func(t *testing.T) { swarmNetwork(t, "swarm-d", "10.180.0", false) })
	t.Run("attachable network, our IPAM", func(t *testing.T) { swarmNetwork(t, "swarm-o", "10.181.0", true) })
	t.Run("service", swarmService)
}

const plugin = "openvswitch:latest"

func swarmBed(t *testing.T) {
	t.Helper()
	if out, err := runScript("swarm", "up"); err != nil {
		t.Fatalf("hosts.sh swarm up: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := outOfSwarm(); err != nil {
			t.Error(err)
		}
	})
	for _, h := range hosts {
		// As the issue has it: make plugin, run inside the host from the
		// repository's root.
		cmd := exec.Command("test/env/hosts.sh", "exec", h, "make", "plugin")
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: make plugin: %v: %s", h, err, out)
		}
		if !strings.Contains(string(out), "created and enabled with OVN_DOCKER_SCOPE=swarm") {
			t.Fatalf("%s: make plugin on a swarm node: %s", h, out)
		}
	}
}

// outOfSwarm takes the hosts out of the swarm and removes their managed
// plugins, which would otherwise shadow the host's ovn-docker: with a
// managed plugin openvswitch:latest, `-d openvswitch` finds the plugin but
// no driver of that name ("could not resolve driver openvswitch in
// registry"). TestMain does it too, for a run that was cut short.
func outOfSwarm() error {
	if out, err := runScript("swarm", "leave"); err != nil {
		return fmt.Errorf("hosts.sh swarm leave: %v: %s", err, out)
	}
	for _, h := range hosts {
		if out, err := hostSh(h, "sh", "-c", "docker plugin ls -q | xargs -r docker plugin rm -f"); err != nil {
			return fmt.Errorf("removing managed plugins: %v: %s", err, out)
		}
	}
	return nil
}

// swarmNet creates a swarm network on the manager; it goes when the test
// ends. It returns the network's ID.
func swarmNet(t *testing.T, name, prefix string, ourIPAM bool) string {
	t.Helper()
	args := []string{"network", "create", "--scope", "swarm", "--attachable", "-d", plugin, "--subnet", prefix + ".0/24"}
	if ourIPAM {
		args = append(args, "--ipam-driver", plugin)
	}
	id := docker(t, "host1", append(args, name)...)
	t.Cleanup(func() { hostSh("host1", "docker", "network", "rm", name) })
	return id
}

// swarmNetwork: a container on each node, by name and address, ICMP and
// TCP, every way; one switch; nothing left once the manager removes it.
func swarmNetwork(t *testing.T, name, prefix string, ourIPAM bool) {
	id := swarmNet(t, name, prefix, ourIPAM)
	c := map[string]string{}
	for _, h := range hosts {
		c[h] = name + "-" + h
		run(t, h, c[h], "--net", name)
	}
	allTalk(t, name, c)
	for ha, a := range c {
		for hb, b := range c {
			if ha != hb {
				ping(t, ha, a, b) // by name: swarm's gossip carries it
			}
		}
	}
	if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", `external_ids:"docker:network"="docker-`+id+`"`); got != "docker-"+id {
		t.Fatalf("switches of swarm network %s: %q", id, got)
	}
	for _, h := range hosts {
		docker(t, h, "rm", "-f", c[h])
	}
	docker(t, "host1", "network", "rm", name)
	eventually(t, 30*time.Second, "removal of swarm network "+name, func() error { return leftovers("docker-"+id, prefix+".0/24") })
}

// leftovers names a row of the network left in NB: what noRows checks,
// for a removal that finishes on its own time (swarm frees networks in
// the background).
func leftovers(name, subnet string) error {
	for _, q := range [][]string{
		{"find", "Logical_Switch", "name=" + name},
		{"find", "Address_Set", `external_ids:"docker:ipam-subnet"="` + subnet + `"`},
	} {
		if got, err := nbctlErr(append([]string{"--bare", "--columns=name"}, q...)...); err != nil || got != "" {
			return fmt.Errorf("left in NB (%s): %q %v", strings.Join(q, " "), got, err)
		}
	}
	ports, err := nbctlErr("--bare", "--columns=addresses", "find", "Logical_Switch_Port", `external_ids:"docker:owner"=ovn-docker`)
	if err != nil || strings.Contains(ports, " "+strings.TrimSuffix(subnet, "0/24")) {
		return fmt.Errorf("ports left in NB: %q %v", ports, err)
	}
	return nil
}

var addrLine = regexp.MustCompile(`(?m)^Address(?: \d+)?:\s+(\d+\.\d+\.\d+\.\d+)$`)

// resolve asks the container's resolver (Docker's, 127.0.0.11) for name.
func resolve(host, container, name string) ([]string, error) {
	out, err := hostSh(host, "docker", "exec", container, "nslookup", name, "127.0.0.11")
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, m := range addrLine.FindAllStringSubmatch(out, -1) {
		ips = append(ips, m[1])
	}
	return ips, nil
}

// A service's tasks on three nodes answer, by address and by the service's
// name, on a network of our IPAM; scaling down and up leaves no ports or
// claims behind. Its endpoint mode is dnsrr: swarm gives a VIP only to a
// driver of global scope, and serves it only on overlay networks, so a VIP
// on ours would answer nothing (docs/multihost.md#swarm).
func swarmService(t *testing.T) {
	const name, prefix = "swarm-s", "10.182.0"
	id := swarmNet(t, name, prefix, true)
	run(t, "host1", "client", "--net", name)
	docker(t, "host1", "service", "create", "--detach=false", "-q", "--no-resolve-image", "--name", "web",
		"--replicas", "3", "--replicas-max-per-node", "1", "--network", name, "--endpoint-mode", "dnsrr",
		image, "sh", "-c", "while true; do hostname | nc -l -p 5000; done")
	t.Cleanup(func() { hostSh("host1", "docker", "service", "rm", "web") })
	tasksAnswer(t, 3)
	for _, n := range []int{1, 3} {
		docker(t, "host1", "service", "scale", "--detach=false", fmt.Sprintf("web=%d", n))
		eventually(t, 30*time.Second, fmt.Sprintf("%d task ports and claims", n), func() error { return taskRows(id, prefix, n) })
		tasksAnswer(t, n)
	}
	docker(t, "host1", "service", "rm", "web")
	eventually(t, 30*time.Second, "no task ports or claims", func() error { return taskRows(id, prefix, 0) })
}

// tasksAnswer: the service's name resolves to n tasks, each answering TCP
// by its address, and the name itself answers.
func tasksAnswer(t *testing.T, n int) {
	t.Helper()
	var ips []string
	eventually(t, 30*time.Second, "the service's name", func() error {
		var err error
		if ips, err = resolve("host1", "client", "web"); err == nil && len(ips) != n {
			err = fmt.Errorf("web resolves to %v, want %d tasks", ips, n)
		}
		return err
	})
	for _, ip := range append(ips, "web") {
		eventually(t, 10*time.Second, "TCP to "+ip, func() error {
			out, err := hostSh("host1", "docker", "exec", "client", "sh", "-c", "nc -w 3 "+ip+" 5000 </dev/null")
			if err == nil && out == "" {
				err = fmt.Errorf("no answer from %s", ip)
			}
			return err
		})
	}
}

// taskRows: the network's switch has n task ports beside the client's,
// and its pool n task claims beside the gateway's and the client's.
func taskRows(id, prefix string, n int) error {
	ports, err := nbctlErr("--bare", "--columns=ports", "list", "Logical_Switch", "docker-"+id)
	if err != nil {
		return err
	}
	if got := len(strings.Fields(ports)); got != n+1 {
		return fmt.Errorf("%d ports on the switch, want %d tasks and the client", got, n)
	}
	claims, err := nbctlErr("--bare", "--columns=external_ids", "find", "Address_Set", `external_ids:"docker:ipam-kind"=block`)
	if err != nil {
		return err
	}
	if got := strings.Count(claims, prefix+"."); got != n+2 {
		return fmt.Errorf("%d claims in %s.0/24 (%s), want %d tasks, the gateway and the client", got, prefix, claims, n)
	}
	return nil
}
