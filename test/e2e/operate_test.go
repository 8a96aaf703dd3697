package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make install into a scratch root: binary, systemd unit ordered before
// docker.service and restarting on failure, settings file; the unit passes
// systemd-analyze verify.
func TestMakeInstall(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command("make", "-C", "../..", "install", "DESTDIR="+root, "PREFIX=/usr/local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(root, "usr/local/bin/ovn-docker")
	must(t, bin, "version")
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/ovn-docker.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=/usr/local/bin/ovn-docker serve", "Before=docker.service", "Restart=on-failure",
		"Type=notify", "EnvironmentFile=-/etc/default/ovn-docker"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/default/ovn-docker")); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze not found: install systemd to verify the unit")
	}
	verify := filepath.Join(root, "ovn-docker.service")
	os.WriteFile(verify, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin", filepath.Dir(bin))), 0o644)
	must(t, "systemd-analyze", "verify", verify)
}

// ovn-docker status reports what Docker made: the network, the endpoint on
// this host with its OVS side installed, the IPAM pool's claims.
func TestStatusShowsDockerState(t *testing.T) {
	id := ipamNetwork(t, "seen", "--subnet=10.83.0.0/24")
	run(t, "seen-a", "--net=seen")
	ep, ip := endpointID(t, "seen-a", "seen"), containerIP(t, "seen-a", "seen")
	var r struct {
		Networks []struct {
			ID    string `json:"network_id"`
			Ports int    `json:"ports"`
		} `json:"networks"`
		Endpoints []struct {
			ID           string   `json:"endpoint_id"`
			IPs          []string `json:"ips"`
			Interface    string   `json:"ovs_interface"`
			OVNInstalled bool     `json:"ovn_installed"`
		} `json:"endpoints"`
		Pools []struct {
			ID      string `json:"pool_id"`
			Claimed int    `json:"claimed"`
		} `json:"pools"`
	}
	if err := json.Unmarshal([]byte(must(t, plug.bin, "status", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, n := range r.Networks {
		if n.ID == id && n.Ports == 1 {
			found++
		}
	}
	for _, e := range r.Endpoints {
		if e.ID == ep && e.IPs[0] == ip && e.Interface == "ovh"+ep[:12] && e.OVNInstalled {
			found++
		}
	}
	for _, p := range r.Pools {
		if p.ID == "ovnlocal/10.83.0.0/24" && p.Claimed == 2 { // gateway + container
			found++
		}
	}
	if found != 3 {
		t.Fatalf("status does not show the network, endpoint and pool: %+v", r)
	}
	text := must(t, plug.bin, "status")
	if !strings.Contains(text, id[:12]) || !strings.Contains(text, ip) {
		t.Fatalf("text status lacks network %s or address %s:\n%s", id[:12], ip, text)
	}
}
