package e2e

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// Fault tests: the plugin killed (-9) at each point of the endpoint life
// cycle, dockerd restarted, the Northbound database stopped and frozen.
// After each, the state must converge to exactly what is running.

// fast makes reconciliation quick enough to watch.
var fast = []string{"--reconcile-interval", "500ms", "--orphan-grace", "2s"}

// restartPlugin restarts the suite's plugin with extra environment and
// flags, and puts the default one back when the test ends.
func restartPlugin(t *testing.T, env []string, flags ...string) {
	t.Helper()
	plug.stop()
	plug.env = env
	if err := plug.start(flags...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		plug.stop()
		plug.env = nil
		if err := plug.start(); err != nil {
			t.Fatal(err)
		}
	})
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// converged checks that OVN, OVS, the host and IPAM hold exactly what the
// running containers of network name use: one logical port and one
// installed OVS port per container, no other driver-owned OVS port or veth
// on this host, and no IPAM claim but the gateway's and the containers'.
func converged(t *testing.T, name, gateway string) error {
	id, err := sh("docker", "network", "inspect", "-f", "{{.Id}}", name)
	if err != nil {
		return err
	}
	out, err := sh("docker", "network", "inspect", "-f", `{{range .Containers}}{{.EndpointID}} {{.IPv4Address}}{{"\n"}}{{end}}`, name)
	if err != nil {
		return err
	}
	var eps, ips []string
	for _, l := range lines(out) {
		f := strings.Fields(l)
		eps = append(eps, f[0])
		ips = append(ips, strings.Split(f[1], "/")[0])
	}
	lsps, err := sh("ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch_Port", `external_ids:"docker:network-id"=`+id)
	if err != nil {
		return err
	}
	if got := lines(lsps); strings.Join(got, " ") != strings.Join(eps, " ") {
		return fmt.Errorf("logical ports %v, running endpoints %v", got, eps)
	}
	for _, ep := range eps {
		if v, err := sh("ovs-vsctl", "get", "Interface", "ovh"+ep[:12], "external_ids:ovn-installed"); err != nil || v != `"true"` {
			return fmt.Errorf("OVS port of running endpoint %s: %q %v", ep[:12], v, err)
		}
	}
	if err := hostMatchesOVS(); err != nil {
		return err
	}
	subnet, err := sh("docker", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", name)
	if err != nil {
		return err
	}
	want := lines(strings.Join(append(ips, gateway), "\n"))
	if got := lines(strings.Join(poolClaims(t, subnet), "\n")); strings.Join(got, " ") != strings.Join(want, " ") {
		return fmt.Errorf("IPAM claims %v, want %v", got, want)
	}
	return nil
}

// hostMatchesOVS: every driver-owned OVS port is bound to an existing
// logical port, and every ovh veth (not awaiting deletion) has its OVS port.
func hostMatchesOVS() error {
	out, err := sh("ovs-vsctl", "--bare", "--columns=name,external_ids", "find", "Interface", `external_ids:"docker:owner"=ovn-docker`)
	if err != nil {
		return err
	}
	ports := map[string]bool{}
	for _, block := range strings.Split(out, "\n\n") {
		f := strings.Fields(block)
		if len(f) == 0 {
			continue
		}
		ports[f[0]] = true
		for _, kv := range f[1:] {
			if lp, ok := strings.CutPrefix(kv, "iface-id="); ok {
				if got, _ := sh("ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+lp); got == "" {
					return fmt.Errorf("OVS port %s is bound to logical port %s, which is gone", f[0], lp)
				}
			}
		}
	}
	veths, err := sh("sh", "-c", "ip -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^ovh' || true")
	if err != nil {
		return err
	}
	retired, _ := sh("sh", "-c", "ip -o link show group 0x4f564400 | awk -F': ' '{print $2}' | cut -d@ -f1")
	for _, v := range lines(veths) {
		if !ports[v] && !strings.Contains(retired, v) {
			return fmt.Errorf("veth %s has no OVS port", v)
		}
	}
	return nil
}

func TestFaultPluginKilledDuringRun(t *testing.T) {
	ipamNetwork(t, "fnet", "--subnet=10.84.0.0/24")
	run(t, "f-survivor", "--net=fnet")
	survivor := containerIP(t, "f-survivor", "fnet")
	for _, point := range []string{"request-address", "create-endpoint", "join-veth", "join-ovs"} {
		t.Run(point, func(t *testing.T) {
			mark := logMark()
			restartPlugin(t, []string{"OVN_DOCKER_CRASH_AT=" + point}, fast...)
			name := "f-" + point
			t.Cleanup(func() { sh("docker", "rm", "-f", name) })
			done := make(chan error, 1)
			go func() {
				_, err := sh("docker", "run", "-d", "--name", name, "--net=fnet", image, "sleep", "3600")
				done <- err
			}()
			crashThenRestart(t, point)
			err := <-done
			t.Logf("docker run across the crash: %v", err)
			eventually(t, 30*time.Second, "state converges after a crash at "+point, func() error { return converged(t, "fnet", "10.84.0.1") })
			t.Logf("cleanup by reconciliation:\n%s", reconcileLines(mark))
			fresh := name + "-after"
			run(t, fresh, "--net=fnet")
			exec_(t, fresh, "ping", "-c", "2", "-W", "2", survivor)
			tcp(t, "f-survivor", fresh, containerIP(t, fresh, "fnet"))
		})
	}
}

// crashThenRestart waits for the plugin to kill itself at point, then starts
// it again (Docker retries calls that failed to connect for ~30 s).
func crashThenRestart(t *testing.T, point string) {
	t.Helper()
	select {
	case <-plug.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("the plugin never reached %s", point)
	}
	plug.env = nil
	if err := plug.start(fast...); err != nil {
		t.Fatal(err)
	}
}

func TestFaultPluginKilledDuringRemove(t *testing.T) {
	ipamNetwork(t, "fnet2", "--subnet=10.85.0.0/24")
	run(t, "f2-survivor", "--net=fnet2")
	for _, point := range []string{"leave", "delete-endpoint"} {
		t.Run(point, func(t *testing.T) {
			name := "f2-" + point
			run(t, name, "--net=fnet2")
			mark := logMark()
			restartPlugin(t, []string{"OVN_DOCKER_CRASH_AT=" + point}, fast...)
			done := make(chan error, 1)
			go func() { _, err := sh("docker", "rm", "-f", name); done <- err }()
			crashThenRestart(t, point)
			if err := <-done; err != nil {
				t.Fatalf("docker rm: %v", err)
			}
			eventually(t, 30*time.Second, "state converges after a crash at "+point, func() error { return converged(t, "fnet2", "10.85.0.1") })
			t.Logf("cleanup by reconciliation:\n%s", reconcileLines(mark))
			after := name + "-after"
			run(t, after, "--net=fnet2")
			exec_(t, "f2-survivor", "ping", "-c", "1", "-W", "2", containerIP(t, after, "fnet2"))
		})
	}
}

func TestFaultDockerdRestart(t *testing.T) {
	pidFile := "/run/ovn-docker-env/dockerd.pid"
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("dockerd was not started by test/env/up.sh (%v): cannot restart it", err)
	}
	ipamNetwork(t, "rnet", "--subnet=10.86.0.0/24")
	run(t, "r-a", "--net=rnet", "--restart=always")
	run(t, "r-b", "--net=rnet", "--restart=always")
	must(t, "kill", "-TERM", strings.TrimSpace(string(pid)))
	eventually(t, 60*time.Second, "dockerd stops", func() error {
		if _, err := sh("kill", "-0", strings.TrimSpace(string(pid))); err == nil {
			return fmt.Errorf("still running")
		}
		return nil
	})
	// The same engine again, whatever DOCKER_ENGINE the suite was run with.
	engine, err := os.ReadFile("/run/ovn-docker-env/engine")
	if err != nil {
		t.Fatalf("which engine test/env/up.sh started is unknown: %v", err)
	}
	must(t, "env", "DOCKER_ENGINE="+strings.TrimSpace(string(engine)), "../env/up.sh")
	eventually(t, 60*time.Second, "containers come back", func() error {
		out, err := sh("docker", "inspect", "-f", "{{.State.Running}}", "r-a", "r-b")
		if err != nil || out != "true\ntrue" {
			return fmt.Errorf("running: %q %v", out, err)
		}
		return nil
	})
	b := containerIP(t, "r-b", "rnet")
	eventually(t, 30*time.Second, "r-a reaches r-b", func() error {
		_, err := sh("docker", "exec", "r-a", "ping", "-c", "1", "-W", "1", b)
		return err
	})
	tcp(t, "r-a", "r-b", b)
	eventually(t, 30*time.Second, "state converges", func() error { return converged(t, "rnet", "10.86.0.1") })
}

func TestFaultNBOutage(t *testing.T) {
	restartPlugin(t, nil, append([]string{"--ovn-timeout", "3s"}, fast...)...)
	const ctl = "/usr/share/ovn/scripts/ovn-ctl"
	t.Cleanup(func() { sh(ctl, "start_nb_ovsdb") })
	must(t, ctl, "stop_nb_ovsdb")
	refused := func(net string) {
		t.Helper()
		start := time.Now()
		out, err := sh("docker", "network", "create", "-d", "openvswitch", "--subnet=10.88.0.0/24", net)
		if err == nil {
			sh("docker", "network", "rm", net)
			t.Fatal("network created while NB is unreachable")
		}
		if !strings.Contains(out, "cannot reach the OVN northbound database") {
			t.Fatalf("message does not name OVN: %s", out)
		}
		t.Logf("refused after %s: %s", time.Since(start).Round(time.Millisecond), out)
	}
	refused("outage")
	must(t, ctl, "start_nb_ovsdb")
	createdAgain := func() {
		t.Helper()
		eventually(t, 30*time.Second, "network create after NB is back", func() error {
			_, err := sh("docker", "network", "create", "-d", "openvswitch", "--subnet=10.88.0.0/24", "outage")
			return err
		})
		docker(t, "network", "rm", "outage")
	}
	createdAgain()

	// Frozen, not stopped: the socket accepts but nothing answers.
	pid := strings.TrimSpace(must(t, "cat", "/var/run/ovn/ovnnb_db.pid"))
	t.Cleanup(func() { sh("kill", "-CONT", pid) })
	must(t, "kill", "-STOP", pid)
	mark := logMark()
	refused("frozen")
	must(t, "kill", "-CONT", pid)
	createdAgain()
	// The frozen server ran the refused create when it woke up; the switch
	// it made for a network Docker forgot must not stay.
	eventually(t, 30*time.Second, "no switch left from the refused creates", func() error {
		if got, _ := sh("ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch", `external_ids:"docker:subnets"="10.88.0.0/24"`); got != "" {
			return fmt.Errorf("switches %q", got)
		}
		return nil
	})
	t.Logf("cleanup by reconciliation:\n%s", reconcileLines(mark))
}

// logMark is where the plugin log ends now.
func logMark() int64 {
	fi, err := os.Stat(plug.log)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// reconcileLines returns the reconciliation lines logged since mark.
func reconcileLines(mark int64) string {
	b, err := os.ReadFile(plug.log)
	if err != nil || int64(len(b)) < mark {
		return ""
	}
	var out []string
	for _, l := range strings.Split(string(b[mark:]), "\n") {
		if strings.Contains(l, "reconcile:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
