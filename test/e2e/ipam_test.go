package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// ipamNetwork creates a network using the openvswitch IPAM driver too.
func ipamNetwork(t *testing.T, name string, args ...string) string {
	t.Helper()
	return createNetwork(t, name, append([]string{"--ipam-driver", "openvswitch"}, args...)...)
}

// poolClaims lists the addresses NB holds as claimed in a pool.
func poolClaims(t *testing.T, subnet string) []string {
	t.Helper()
	var rows []string
	for _, r := range strings.Fields(nbctl(t, "--bare", "--columns=name", "find", "Address_Set",
		`external_ids:"docker:ipam-kind"=pool`, `external_ids:"docker:ipam-subnet"="`+subnet+`"`)) {
		rows = append(rows, r)
	}
	if len(rows) != 1 {
		t.Fatalf("%d pool rows for %s in NB", len(rows), subnet)
	}
	blocks := []string{"find", "Address_Set", `external_ids:"docker:ipam-pool"=` + rows[0], `external_ids:"docker:ipam-kind"=block`}
	// Claims stay out of the addresses column, which northd copies to
	// every chassis.
	if addrs := nbctl(t, append([]string{"--bare", "--columns=addresses"}, blocks...)...); addrs != "" {
		t.Fatalf("claims of pool %s in its blocks' addresses: %s", subnet, addrs)
	}
	return claimKeys(nbctl(t, append([]string{"--bare", "--columns=external_ids"}, blocks...)...))
}

// claimKeys: the addresses claimed in external_ids as ovn-nbctl --bare
// prints them (docker:ipam-claim:ADDR= among the other keys).
func claimKeys(bare string) []string {
	var out []string
	for _, kv := range strings.Fields(bare) {
		if a, ok := strings.CutPrefix(kv, "docker:ipam-claim:"); ok {
			out = append(out, strings.TrimSuffix(a, "="))
		}
	}
	return out
}

func TestIPAMUniqueAddressesAndStaticIP(t *testing.T) {
	ipamNetwork(t, "ipam1", "--subnet=10.60.0.0/24")
	// Docker asked for a gateway: the subnet's first host address.
	if claims := poolClaims(t, "10.60.0.0/24"); strings.Join(claims, " ") != "10.60.0.1" {
		t.Fatalf("claims after network create: %v", claims)
	}
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("ipam1-%d", i)
		run(t, name, "--net=ipam1")
		ip := containerIP(t, name, "ipam1")
		if seen[ip] || !strings.HasPrefix(ip, "10.60.0.") || ip == "10.60.0.1" {
			t.Fatalf("%s got %s (seen %v)", name, ip, seen)
		}
		seen[ip] = true
	}
	run(t, "ipam1-static", "--net=ipam1", "--ip=10.60.0.50")
	if ip := containerIP(t, "ipam1-static", "ipam1"); ip != "10.60.0.50" {
		t.Fatalf("--ip gave %s", ip)
	}
	claims := strings.Join(poolClaims(t, "10.60.0.0/24"), " ")
	for ip := range seen {
		if !strings.Contains(claims, ip) {
			t.Fatalf("NB claims %q lack %s", claims, ip)
		}
	}
	if !strings.Contains(claims, "10.60.0.1") || !strings.Contains(claims, "10.60.0.50") {
		t.Fatalf("NB claims %q lack the gateway or the static address", claims)
	}
	out, err := sh("docker", "run", "--rm", "--net=ipam1", "--ip=10.60.0.50", image, "true")
	if err == nil || !strings.Contains(out, "address 10.60.0.50 is already in use in pool 10.60.0.0/24") {
		t.Fatalf("second --ip 10.60.0.50: %v", err)
	}
	exec_(t, "ipam1-0", "ping", "-c", "2", "-W", "2", "10.60.0.50")
	tcp(t, "ipam1-0", "ipam1-static", "10.60.0.50")
}

func TestIPAMRange(t *testing.T) {
	ipamNetwork(t, "ipam2", "--subnet=10.61.0.0/24", "--ip-range=10.61.0.128/25")
	run(t, "ipam2-a", "--net=ipam2")
	if ip := containerIP(t, "ipam2-a", "ipam2"); ip != "10.61.0.128" {
		t.Fatalf("first address in range: %s", ip)
	}
}

func TestIPAMExhaustion(t *testing.T) {
	ipamNetwork(t, "ipam3", "--subnet=10.62.0.0/29")
	// 6 hosts in a /29, one is the gateway.
	for i := 0; i < 5; i++ {
		run(t, fmt.Sprintf("ipam3-%d", i), "--net=ipam3")
	}
	out, err := sh("docker", "run", "--rm", "--net=ipam3", image, "true")
	if err == nil || !strings.Contains(out, "pool 10.62.0.0/29 has no free addresses") {
		t.Fatalf("docker run on a full pool: %v", err)
	}
}

func TestIPAMOverlapRefused(t *testing.T) {
	ipamNetwork(t, "ipam4", "--subnet=10.63.0.0/24")
	out, err := sh("docker", "network", "create", "-d", "openvswitch", "--ipam-driver", "openvswitch", "--subnet=10.63.0.0/25", "ipam4b")
	if err == nil {
		sh("docker", "network", "rm", "ipam4b")
		t.Fatal("overlapping pool accepted")
	}
	if !strings.Contains(out, "pool 10.63.0.0/25 overlaps pool 10.63.0.0/24") {
		t.Fatalf("message %q does not name the other pool", out)
	}
}

func TestIPAMAutoPools(t *testing.T) {
	ipamNetwork(t, "auto1")
	ipamNetwork(t, "auto2")
	s1 := docker(t, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "auto1")
	s2 := docker(t, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "auto2")
	if s1 == s2 || !strings.HasPrefix(s1, "10.1") || !strings.HasSuffix(s1, "/24") {
		t.Fatalf("auto pools %s and %s", s1, s2)
	}
	run(t, "auto1-a", "--net=auto1")
	run(t, "auto1-b", "--net=auto1")
	exec_(t, "auto1-a", "ping", "-c", "2", "-W", "2", "auto1-b")
}

func TestIPAMDualStack(t *testing.T) {
	ipamNetwork(t, "ipam6", "--ipv6", "--subnet=10.64.0.0/24", "--subnet=fd00:64::/64")
	run(t, "ipam6-a", "--net=ipam6")
	run(t, "ipam6-b", "--net=ipam6")
	v6 := containerIPv6(t, "ipam6-b", "ipam6")
	if !strings.HasPrefix(v6, "fd00:64::") {
		t.Fatalf("IPv6 address %q", v6)
	}
	if claims := strings.Join(poolClaims(t, "fd00:64::/64"), " "); !strings.Contains(claims, v6) {
		t.Fatalf("NB IPv6 claims %q lack %s", claims, v6)
	}
	exec_(t, "ipam6-a", "ping", "-6", "-c", "2", "-W", "2", v6)
	tcp(t, "ipam6-a", "ipam6-b", v6)
}

func TestIPAMRecreateAfterRemove(t *testing.T) {
	for i := 0; i < 2; i++ {
		sh("docker", "network", "rm", "ipam7")
		docker(t, "network", "create", "-d", "openvswitch", "--ipam-driver", "openvswitch", "--subnet=10.65.0.0/24", "ipam7")
		docker(t, "run", "--rm", "--net=ipam7", image, "true")
		docker(t, "network", "rm", "ipam7")
		if got := nbctl(t, "--bare", "--columns=name", "find", "Address_Set", `external_ids:"docker:ipam-subnet"="10.65.0.0/24"`); got != "" {
			t.Fatalf("pool rows left after network rm: %q", got)
		}
	}
}

// The plugin is killed (-9) between two containers: the first keeps its
// address and connectivity, the second gets a different address.
func TestIPAMDaemonRestart(t *testing.T) {
	ipamNetwork(t, "ipam8", "--subnet=10.66.0.0/24")
	run(t, "ipam8-a", "--net=ipam8")
	plug.kill()
	if err := plug.start(); err != nil {
		t.Fatal(err)
	}
	run(t, "ipam8-b", "--net=ipam8")
	a, b := containerIP(t, "ipam8-a", "ipam8"), containerIP(t, "ipam8-b", "ipam8")
	if a == b {
		t.Fatalf("both containers got %s", a)
	}
	exec_(t, "ipam8-b", "ping", "-c", "2", "-W", "2", a)
	tcp(t, "ipam8-b", "ipam8-a", a)
}
