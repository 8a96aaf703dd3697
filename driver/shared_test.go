package driver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// Two hosts' Docker networks with one ovn.network share one switch; an
// address one host's endpoint holds is refused to the other's; Join waits
// for every chassis on a shared network only; each host's removal takes its
// own reference.
func TestSharedNetworkAcrossHosts(t *testing.T) {
	r := newRig(t)
	r.d.cfg.RemoteReadyTimeout = time.Second
	ctx := context.Background()
	shared := func(id string) *network.CreateNetworkRequest {
		return netReqID(id, map[string]any{OptNetwork: "prod"}, &network.IPAMData{Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24"})
	}
	netA, netB := nid, epID(70)
	if err := r.d.CreateNetwork(ctx, shared(netA)); err != nil {
		t.Fatal(err)
	}
	r.ovs.mu.Lock()
	r.ovs.systemID = "host2"
	r.ovs.mu.Unlock()
	if err := r.d.CreateNetwork(ctx, shared(netB)); err != nil {
		t.Fatal(err)
	}
	if sw := r.nb.switches["prod"]; len(r.nb.switches) != 1 || len(sw.Refs) != 2 || sw.Name != "prod" {
		t.Fatalf("switches %+v", r.nb.switches)
	}
	ep := func(netID, id, addr string) error {
		_, err := r.d.CreateEndpoint(ctx, &network.CreateEndpointRequest{NetworkID: netID, EndpointID: id,
			Interface: &network.EndpointInterface{Address: addr}})
		return err
	}
	if err := ep(netA, epID(71), "10.77.0.10/24"); err != nil {
		t.Fatal(err)
	}
	err := ep(netB, epID(72), "10.77.0.10/24")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "already used on OVN network prod") {
		t.Fatalf("one address on two hosts: %v", err)
	}
	if err := ep(netB, epID(72), "10.77.0.11/24"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.d.Join(ctx, &network.JoinRequest{NetworkID: netB, EndpointID: epID(72)}); err != nil {
		t.Fatal(err)
	}
	if r.nb.chassisWaits != 1 {
		t.Fatalf("%d waits for every chassis on a shared network's join, want 1", r.nb.chassisWaits)
	}
	if err := r.d.DeleteNetwork(ctx, &network.DeleteNetworkRequest{NetworkID: netB}); err != nil {
		t.Fatal(err)
	}
	if sw, ok := r.nb.switches["prod"]; !ok || len(sw.Refs) != 1 || sw.Refs[0].NetworkID != netA {
		t.Fatalf("after host2's removal: %+v", r.nb.switches)
	}
}

func TestSharedNetworkNames(t *testing.T) {
	for _, bad := range []string{"", "docker-x", "a/b", strings.Repeat("x", 65), "-x"} {
		_, err := ParseNetwork(netReqID(nid, map[string]any{OptNetwork: bad}, &network.IPAMData{Pool: "10.0.0.0/24"}))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ovn.network=%q: %v", bad, err)
		}
	}
	cfg, err := ParseNetwork(netReqID(nid, map[string]any{OptNetwork: "prod.eu-1"}, &network.IPAMData{Pool: "10.0.0.0/24"}))
	if err != nil || cfg.Shared != "prod.eu-1" {
		t.Fatalf("%+v %v", cfg, err)
	}
}

// A chassis that lags is said once when a wait runs out and once when every
// chassis caught up, not on every Join in between.
func TestChassisLagSaidOnce(t *testing.T) {
	r := newRig(t)
	log, hook := test.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	r.d.cfg.Log, r.d.cfg.RemoteReadyTimeout = log, time.Second
	r.nb.chassisErrs = []error{nb.ErrChassisBehind, nb.ErrChassisSkipped, nb.ErrChassisSkipped, nil, nil}
	var got []string
	for i := 0; i < 5; i++ {
		hook.Reset()
		r.d.waitChassis(context.Background(), eid)
		for _, e := range hook.AllEntries() {
			got = append(got, e.Level.String())
		}
	}
	if want := "warning debug debug info"; strings.Join(got, " ") != want {
		t.Fatalf("log levels %q, want %q", strings.Join(got, " "), want)
	}
}
