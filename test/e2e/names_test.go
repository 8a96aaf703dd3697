package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/test/outside"
)

var addrLine = regexp.MustCompile(`(?m)^Address(?: \d+)?:\s+(\d+\.\d+\.\d+\.\d+)$`)

// resolvesTo waits until name resolves to want in container (want "":
// until it no longer resolves).
func resolvesTo(t *testing.T, container, name, want string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%s resolving %s", container, name), func() error {
		out, err := sh("docker", "exec", container, "nslookup", name, "127.0.0.11")
		var ips []string
		for _, m := range addrLine.FindAllStringSubmatch(out, -1) {
			ips = append(ips, m[1])
		}
		switch {
		case want == "" && len(ips) > 0:
			return fmt.Errorf("still resolves to %v", ips)
		case want == "":
			return nil
		case err != nil:
			return err
		case !slices.Equal(ips, []string{want}):
			return fmt.Errorf("resolves to %v, want %s", ips, want)
		}
		return nil
	})
}

// Two Docker networks on one OVN network stand for one network on two
// hosts: Docker's DNS knows only the containers of each one's own network
// and forwards the other names, which OVN answers from the names the
// daemon learned from Docker. Given a DNS server (--dns), current engines
// forward from the container too (docs/multihost.md#names).
func TestNamesOfTheOtherDockerNetwork(t *testing.T) {
	setOutside(t) // the DNS server is out there
	stop, err := outside.DNS()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, n := range []string{"nm-1", "nm-2"} {
		ipamNetwork(t, n, "--subnet", "10.210.0.0/24", "-o", "ovn.network=nm-s", "-o", "ovn.router=nmr",
			"--ipam-opt", "ovn.network=nm-s")
	}
	run(t, "nm-a", "--net", "nm-1", "--network-alias", "alpha", "--dns", outside.NextHop)
	run(t, "nm-b", "--net", "nm-2", "--dns", outside.NextHop)
	a := containerIP(t, "nm-a", "nm-1")
	resolvesTo(t, "nm-b", "nm-a", a)
	resolvesTo(t, "nm-b", "alpha", a)
	resolvesTo(t, "nm-a", "nm-b", containerIP(t, "nm-b", "nm-2"))
	exec_(t, "nm-b", "ping", "-c", "1", "-W", "2", "alpha")
	exec_(t, "nm-a", "sh", "-c", "echo hi | nc -l -p 5000 >/dev/null &")
	eventually(t, 10*time.Second, "TCP from nm-b to alpha by name", func() error {
		out, err := sh("docker", "exec", "nm-b", "sh", "-c", "echo ping | nc -w 3 alpha 5000")
		if err == nil && out != "hi" {
			err = fmt.Errorf("answered %q", out)
		}
		return err
	})
	docker(t, "network", "disconnect", "nm-1", "nm-a")
	resolvesTo(t, "nm-b", "alpha", "")
	docker(t, "rm", "-f", "nm-b")
	eventually(t, 30*time.Second, "DNS rows removed", func() error {
		if rows, _ := sh("ovn-nbctl", "--bare", "--columns=_uuid", "list", "DNS"); rows != "" {
			return fmt.Errorf("DNS rows left: %q", rows)
		}
		return nil
	})
}
