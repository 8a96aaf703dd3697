package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

func TestParseRouterOption(t *testing.T) {
	cfg, err := ParseNetwork(netReq(map[string]any{OptRouter: "edge-1"}, pool))
	if err != nil || cfg.Router != "edge-1" {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, bad := range []string{"", "-x", "a b", strings.Repeat("r", 65)} {
		if _, err := ParseNetwork(netReq(map[string]any{OptRouter: bad}, pool)); !errors.Is(err, ErrInvalid) ||
			!strings.Contains(err.Error(), "not a valid OVN router name") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// A routed network's Join answers the router's addresses as the gateways,
// so Docker adds no docker_gwbridge; an --internal one stays off the router.
func TestRoutedJoinAnswersTheGateway(t *testing.T) {
	for _, tc := range []struct {
		name     string
		internal bool
		v4, v6   string
	}{{"routed", false, "10.77.0.1", "fd77::1"}, {"internal", true, "", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.d.cfg.RemoteReadyTimeout = time.Second
			req := netReqID(nid, map[string]any{OptRouter: "r1"}, &network.IPAMData{Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24"})
			req.IPv6Data = []*network.IPAMData{{Pool: "fd77::/64", Gateway: "fd77::1/64"}}
			req.Options[optInternal] = tc.internal
			if err := r.d.CreateNetwork(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			r.endpoint(t, "02:42:0a:4d:00:03")
			resp, err := r.d.Join(context.Background(), &network.JoinRequest{NetworkID: nid, EndpointID: eid})
			if err != nil || resp.Gateway != tc.v4 || resp.GatewayIPv6 != tc.v6 {
				t.Fatalf("join reply %+v %v; want gateways %q %q", resp, err, tc.v4, tc.v6)
			}
			// Routed there from any chassis: Join waits for them all.
			if want := map[bool]int{false: 1, true: 0}[tc.internal]; r.nb.chassisWaits != want {
				t.Fatalf("chassis waits %d, want %d", r.nb.chassisWaits, want)
			}
		})
	}
}

// A network whose router cannot take it is not made: its switch goes too.
func TestRouterFailureRollsTheSwitchBack(t *testing.T) {
	r := newRig(t)
	r.nb.routerErr = errors.New("logical router r1 already exists and is not ovn-docker's")
	req := netReqID(nid, map[string]any{OptRouter: "r1"}, &network.IPAMData{Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24"})
	if err := r.d.CreateNetwork(context.Background(), req); err == nil || !strings.Contains(err.Error(), "r1") {
		t.Fatalf("got %v", err)
	}
	if len(r.nb.switches) != 0 {
		t.Fatalf("left: %+v", r.nb.switches)
	}
}

// A routed Join waits for BFD to the gateway chassis when it is not up;
// after a wait that ran out it skips the wait until BFD is up again.
func TestRoutedJoinWaitsForBFD(t *testing.T) {
	r := newRig(t)
	req := netReqID(nid, map[string]any{OptRouter: "r1"}, &network.IPAMData{Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24"})
	if err := r.d.CreateNetwork(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r.endpoint(t, "02:42:0a:4d:00:03")
	join := func() {
		t.Helper()
		if _, err := r.d.Join(context.Background(), &network.JoinRequest{NetworkID: nid, EndpointID: eid}); err != nil {
			t.Fatal(err)
		}
	}
	r.ovs.bfdDown, r.ovs.bfdErr = []string{"ovn-gw1-0"}, errors.New("BFD on tunnel ovn-gw1-0: not installed")
	join()
	join() // skipped: the last wait ran out
	if r.ovs.bfdWaits != 1 {
		t.Fatalf("BFD waits %d, want 1", r.ovs.bfdWaits)
	}
	r.ovs.bfdDown, r.ovs.bfdErr = nil, nil
	join() // up again: nothing to wait for, and the next one waits again
	r.ovs.bfdDown = []string{"ovn-gw1-0"}
	join()
	if r.ovs.bfdWaits != 2 {
		t.Fatalf("BFD waits %d, want 2", r.ovs.bfdWaits)
	}
}

func TestParseICCOption(t *testing.T) {
	for v, off := range map[string]bool{"false": true, "0": true, "true": false, "TRUE": false} {
		cfg, err := ParseNetwork(netReq(map[string]any{OptICC: v}, pool))
		if err != nil || cfg.NoICC != off {
			t.Errorf("%q: %+v %v", v, cfg, err)
		}
	}
	_, err := ParseNetwork(netReq(map[string]any{OptICC: "maybe"}, pool))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("maybe: %v", err)
	}
	usererrtest.Check(t, err, OptICC)
}

func TestParseIsolateOption(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "1": true, "false": false} {
		cfg, err := ParseNetwork(netReq(map[string]any{OptIsolate: v, OptRouter: "r1"}, pool))
		if err != nil || cfg.Isolate != want {
			t.Errorf("%q: %+v %v", v, cfg, err)
		}
	}
	for _, opts := range []map[string]any{
		{OptIsolate: "yes", OptRouter: "r1"}, // not a boolean
		{OptIsolate: "true"},                 // no router to isolate from
	} {
		_, err := ParseNetwork(netReq(opts, pool))
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%v: %v", opts, err)
		}
		usererrtest.Check(t, err, OptIsolate)
	}
	if cfg, err := ParseNetwork(netReq(map[string]any{OptIsolate: "false"}, pool)); err != nil || cfg.Isolate {
		t.Fatalf("false without a router: %+v %v", cfg, err)
	}
}

func TestParseIngressAndExposedPorts(t *testing.T) {
	for v, want := range map[string]string{"all": "", "exposed": "exposed"} {
		cfg, err := ParseNetwork(netReq(map[string]any{OptIngress: v}, pool))
		if err != nil || cfg.Ingress != want {
			t.Errorf("%q: %+v %v", v, cfg, err)
		}
	}
	_, err := ParseNetwork(netReq(map[string]any{OptIngress: "some"}, pool))
	usererrtest.Check(t, err, OptIngress)

	// Both engines send --expose ports in Join (current ones nowhere else).
	for _, dir := range []string{"docker-20.10", "moby-v2.0.0-beta.24"} {
		b, err := os.ReadFile("../testdata/" + dir + "/NetworkDriver.Join.json")
		if err != nil {
			t.Fatal(err)
		}
		var join network.JoinRequest
		if err := json.Unmarshal(b, &join); err != nil {
			t.Fatal(err)
		}
		exposed, err := parseExposed(join.Options)
		if err != nil || !strings.Contains(fmt.Sprint(exposed), "{tcp 9090}") || len(exposed) != 2 {
			t.Fatalf("%s: exposed %v %v", dir, exposed, err)
		}
	}
	b, err := os.ReadFile("../testdata/docker-20.10/NetworkDriver.CreateEndpoint.ports.json")
	if err != nil {
		t.Fatal(err)
	}
	var req network.CreateEndpointRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	req.Options[optExposed] = []any{map[string]any{"Proto": float64(1), "Port": float64(7)}}
	_, err = ParseEndpoint(&req)
	usererrtest.Check(t, err, "exposed port 7")
}
