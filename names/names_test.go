package names

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/dockerapi"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

var ports = []*nb.Port{
	{Name: "p1", EndpointID: "ep1", NetworkID: "routed", Chassis: "host1", IPs: []string{"10.0.0.2", "fd00::2"}},
	{Name: "p2", EndpointID: "ep2", NetworkID: "plain", Chassis: "host1", IPs: []string{"10.1.0.2"}},
	{Name: "p3", EndpointID: "ep3", NetworkID: "routed", Chassis: "host2", IPs: []string{"10.0.0.3"}},
}

var web = dockerapi.Container{ID: "c1", Name: "Web", Endpoints: []dockerapi.Endpoint{
	{NetworkID: "routed", EndpointID: "ep1", Aliases: []string{"api", "c1short", "bad name"}, DNSNames: []string{"web", "api"}},
	{NetworkID: "plain", EndpointID: "ep2", Aliases: []string{"other"}},
}}

// Names are the container's, its aliases and DNS names, lowercase, at
// the port's addresses; only for this host's endpoints on routed networks.
func TestWant(t *testing.T) {
	got := Want([]dockerapi.Container{web, {ID: "c3", Name: "far", Endpoints: []dockerapi.Endpoint{{EndpointID: "ep3"}}}},
		ports, map[string]bool{"routed": true}, "host1")
	want := "[{ep1 routed map[api:10.0.0.2 fd00::2 c1short:10.0.0.2 fd00::2 web:10.0.0.2 fd00::2]}]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}
}

type fakeDocker struct {
	mu     sync.Mutex
	cs     []dockerapi.Container
	events chan dockerapi.Event
}

func (f *fakeDocker) Addr() string { return "unix:///fake" }
func (f *fakeDocker) Containers(context.Context) ([]dockerapi.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]dockerapi.Container(nil), f.cs...), nil
}
func (f *fakeDocker) Inspect(_ context.Context, id string) (*dockerapi.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cs {
		if c.ID == id {
			return &c, nil
		}
	}
	return nil, nil
}
func (f *fakeDocker) Events(ctx context.Context, ready func(), fn func(dockerapi.Event)) error {
	ready()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-f.events:
			fn(e)
		}
	}
}

type fakeNB struct{ synced chan []nb.Names }

func (f *fakeNB) Ports(context.Context) ([]*nb.Port, error) { return ports, nil }
func (f *fakeNB) Switches(context.Context) ([]*nb.Switch, error) {
	return []*nb.Switch{{NetworkID: "routed", Router: "r1"}, {NetworkID: "plain"}}, nil
}
func (f *fakeNB) SyncNames(_ context.Context, chassis string, want []nb.Names, keep []string) (int, int, error) {
	f.synced <- want
	return len(want), 0, nil
}

// Run syncs once subscribed, then after each event that changes names.
func TestRunFollowsEvents(t *testing.T) {
	d := &fakeDocker{events: make(chan dockerapi.Event)}
	n := &fakeNB{synced: make(chan []nb.Names)}
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	s := New(d, n, func(context.Context) (string, error) { return "host1", nil }, time.Minute, log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	if got := <-n.synced; len(got) != 0 {
		t.Fatalf("first sync: %v", got)
	}
	d.mu.Lock()
	d.cs = []dockerapi.Container{web}
	d.mu.Unlock()
	start := dockerapi.Event{Type: "container", Action: "start"}
	start.Actor.ID = "c1"
	d.events <- dockerapi.Event{Type: "container", Action: "exec_create"} // ignored
	d.events <- start
	if got := <-n.synced; len(got) != 1 || got[0].Records["web"] != "10.0.0.2 fd00::2" {
		t.Fatalf("after start: %v", got)
	}
}
