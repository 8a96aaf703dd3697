package driver

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

const sid = "eh1kyb5ln7c782cdcc7zyazua" // a swarm network ID

func TestSwarmIDs(t *testing.T) {
	for id, want := range map[string]bool{sid: true, nid: false, "EH1KYB5LN7C782CDCC7ZYAZUA": false, sid[:24]: false, "": false} {
		if IsSwarmID(id) != want {
			t.Errorf("IsSwarmID(%q) = %v", id, !want)
		}
	}
}

func TestCapabilitiesFollowTheScope(t *testing.T) {
	r := newRig(t)
	if c := r.d.GetCapabilities(); c.Scope != network.LocalScope || c.ConnectivityScope != network.GlobalScope {
		t.Errorf("local: %+v", c)
	}
	r.d.cfg.Swarm = true
	if c := r.d.GetCapabilities(); c.Scope != network.GlobalScope || c.ConnectivityScope != network.GlobalScope {
		t.Errorf("swarm: %+v", c)
	}
}

// The options AllocateNetwork returns are all a node's CreateNetwork gets:
// they go back as given, even bad ones, which the nodes refuse where
// Docker shows it.
func TestAllocateNetworkHandsTheOptionsOn(t *testing.T) {
	r := newRig(t)
	log, hook := test.NewNullLogger()
	r.d.cfg.Log = log
	req := &network.AllocateNetworkRequest{NetworkID: sid, Options: map[string]string{OptMTU: "1400", OptNetwork: "blue"},
		IPv4Data: []network.IPAMData{{Pool: "10.80.0.0/24", Gateway: "10.80.0.1/24"}}}
	got := r.d.AllocateNetwork(req).Options
	if len(got) != 2 || got[OptMTU] != "1400" || got[OptNetwork] != "blue" {
		t.Fatalf("options %v", got)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.InfoLevel {
		t.Fatalf("good options logged as %+v", e)
	}
	req.Options = map[string]string{"colour": "red"}
	if got := r.d.AllocateNetwork(req).Options; got["colour"] != "red" {
		t.Fatalf("bad options not handed on: %v", got)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || !strings.Contains(e.Data["error"].(error).Error(), "colour") {
		t.Fatalf("bad options logged as %+v", e)
	}
	if got := r.d.AllocateNetwork(&network.AllocateNetworkRequest{NetworkID: sid}).Options; got == nil {
		t.Fatal("nil options: Docker's nodes would get none")
	}
}

// Every node's CreateNetwork of one swarm network joins one switch, named
// by the swarm ID; each node's DeleteNetwork takes only its reference.
func TestSwarmNetworkIsOneSwitch(t *testing.T) {
	r := newRig(t)
	r.d.cfg.Swarm = true
	ctx := context.Background()
	req := netReqID(sid, map[string]any{}, &network.IPAMData{Pool: "10.80.0.0/24", Gateway: "10.80.0.1/24"})
	for _, host := range []string{"host1", "host2"} {
		r.ovs.mu.Lock()
		r.ovs.systemID = host
		r.ovs.mu.Unlock()
		if err := r.d.CreateNetwork(ctx, req); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
	}
	sw, ok := r.nb.switches[swarmSwitchName(sid)]
	if len(r.nb.switches) != 1 || !ok || len(sw.Refs) != 2 || sw.Shared != "docker-"+sid {
		t.Fatalf("switches %+v", r.nb.switches)
	}
	if err := r.d.DeleteNetwork(ctx, &network.DeleteNetworkRequest{NetworkID: sid}); err != nil {
		t.Fatal(err)
	}
	if sw := r.nb.switches[swarmSwitchName(sid)]; len(sw.Refs) != 1 || sw.Refs[0].Chassis != "host1" {
		t.Fatalf("after host2's removal: %+v", r.nb.switches)
	}
}

// With local scope a swarm network comes with nothing of its settings,
// unless a --config-only network gave it an ovn.network.
func TestSwarmNetworkWithLocalScope(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	pool := &network.IPAMData{Pool: "172.19.0.0/16", Gateway: "172.19.0.1/16"}
	err := r.d.CreateNetwork(ctx, netReqID(sid, map[string]any{}, pool))
	usererrtest.Check(t, err, sid)
	if len(r.nb.switches) != 0 {
		t.Fatalf("switch made anyway: %v", r.nb.switches)
	}
	if err := r.d.CreateNetwork(ctx, netReqID(sid, map[string]any{OptNetwork: "blue"}, pool)); err != nil {
		t.Fatalf("swarm network from a config-only network: %v", err)
	}
	if _, ok := r.nb.switches["blue"]; !ok || len(r.nb.switches) != 1 {
		t.Fatalf("switches %+v", r.nb.switches)
	}
}
