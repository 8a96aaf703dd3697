package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// 50 docker runs at once on one network, addresses from our IPAM: all
// start, all addresses differ, all reach each other.
func TestConcurrentRuns(t *testing.T) {
	ipamNetwork(t, "many", "--subnet=10.89.0.0/24")
	const n = 50
	names := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range names {
		names[i] = fmt.Sprintf("many-%02d", i)
		sh("docker", "rm", "-f", names[i])
		t.Cleanup(func() { sh("docker", "rm", "-f", names[i]) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sh("docker", "run", "-d", "--name", names[i], "--net=many", image, "sleep", "3600")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
	}
	ips := map[string]string{}
	var all []string
	for _, name := range names {
		ip := containerIP(t, name, "many")
		if other, dup := ips[ip]; dup {
			t.Fatalf("%s and %s both have %s", other, name, ip)
		}
		ips[ip] = name
		all = append(all, ip)
	}
	// One container pings every other; any loss is listed.
	script := "for ip in " + strings.Join(all, " ") + "; do ping -c 1 -W 2 $ip >/dev/null || echo unreachable $ip; done"
	if out := exec_(t, names[0], "sh", "-c", script); out != "" {
		t.Fatalf("from %s:\n%s", names[0], out)
	}
	tcp(t, names[1], names[n-1], all[n-1])
	if err := converged(t, "many", "10.89.0.1"); err != nil {
		t.Fatal(err)
	}
}

// 10 network creations at once, pools picked by our IPAM: all succeed with
// distinct subnets and one switch each.
func TestConcurrentNetworkCreates(t *testing.T) {
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("par-%d", i)
		sh("docker", "network", "rm", name)
		t.Cleanup(func() { sh("docker", "network", "rm", name) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sh("docker", "network", "create", "-d", "openvswitch", "--ipam-driver", "openvswitch", name)
		}()
	}
	wg.Wait()
	subnets := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("par-%d: %v", i, err)
		}
		name := fmt.Sprintf("par-%d", i)
		s := docker(t, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", name)
		if subnets[s] {
			t.Fatalf("subnet %s given twice", s)
		}
		subnets[s] = true
		id := docker(t, "network", "inspect", "-f", "{{.Id}}", name)
		if got := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch", "name="+switchOf(id)); got != switchOf(id) {
			t.Fatalf("switches for %s: %q", name, got)
		}
	}
}
