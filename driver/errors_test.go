package driver

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/hostnet"
	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

// Every error the driver itself writes, triggered through Docker's calls
// and held to docs/errors.md by the shared checker. Errors of the
// databases and of the host are the ovs and hostnet packages' tests.

func TestCreateNetworkErrorsReadOnce(t *testing.T) {
	pool := func(p, gw string) *network.IPAMData { return &network.IPAMData{Pool: p, Gateway: gw} }
	for _, tc := range []struct {
		name   string
		req    *network.CreateNetworkRequest
		object string
	}{
		{"bad ID", netReqID("../x", nil, pool("10.0.0.0/24", "")), `"../x"`},
		{"empty ID", netReqID("", nil, pool("10.0.0.0/24", "")), `network ID ""`},
		{"no subnet", netReqID(nid, nil), nid[:12]},
		{"empty pool", netReqID(nid, nil, pool("", "")), "IPv4 pool"},
		{"bad subnet", netReqID(nid, nil, pool("10.0.0.0/33", "")), `"10.0.0.0/33"`},
		{"v6 subnet as v4", netReqID(nid, nil, pool("fd00::/64", "")), `"fd00::/64"`},
		{"gateway outside", netReqID(nid, nil, pool("10.0.0.0/24", "10.0.1.1/24")), `"10.0.1.1/24"`},
		{"aux outside", netReqID(nid, nil, &network.IPAMData{Pool: "10.0.0.0/24",
			AuxAddresses: map[string]any{"printer": "10.9.9.9/24"}}), "printer=10.9.9.9/24"},
		{"unknown option", netReqID(nid, map[string]any{"colour": "blue"}, pool("10.0.0.0/24", "")), `"colour"`},
		{"MTU options disagree", netReqID(nid, map[string]any{"mtu": "1400", OptMTU: "1300"}, pool("10.0.0.0/24", "")), "mtu=1400"},
		{"bad MTU", netReqID(nid, map[string]any{"mtu": "abc"}, pool("10.0.0.0/24", "")), `"abc"`},
		{"MTU too big", netReqID(nid, map[string]any{OptMTU: "70000"}, pool("10.0.0.0/24", "")), `"70000"`},
		{"bad router name", netReqID(nid, map[string]any{OptRouter: "a b"}, pool("10.0.0.0/24", "")), `"a b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			err := r.d.CreateNetwork(context.Background(), tc.req)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("not ErrInvalid: %v", err)
			}
			usererrtest.Check(t, err, tc.object)
			if len(r.nb.switches) != 0 {
				t.Errorf("switch made anyway: %v", r.nb.switches)
			}
		})
	}
}

func TestCreateNetworkOptionErrorsReadOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   map[string]any
		object string
	}{
		{"internal not a bool", map[string]any{optInternal: "maybe"}, optInternal},
		{"generic not a map", map[string]any{optGeneric: "mtu=1400"}, optGeneric},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := netReqID(nid, nil, &network.IPAMData{Pool: "10.0.0.0/24"})
			for k, v := range tc.opts {
				req.Options[k] = v
			}
			_, err := ParseNetwork(req)
			usererrtest.Check(t, err, tc.object)
		})
	}
	_, err := ParseNetwork(nil)
	usererrtest.Check(t, err, "CreateNetwork request")
	_, err = ParseEndpoint(nil)
	usererrtest.Check(t, err, "CreateEndpoint request")
	// IPv6 networks need an MTU of 1280 at least.
	req := netReqID(nid, map[string]any{"mtu": "1000"}, &network.IPAMData{Pool: "10.0.0.0/24"})
	req.IPv6Data = []*network.IPAMData{{Pool: "fd00::/64"}}
	_, err = ParseNetwork(req)
	usererrtest.Check(t, err, `"1000"`)
}

func TestUnderlayErrorReadsOnce(t *testing.T) {
	r := newRig(t)
	// What hostnet answers when nothing carries the tunnels.
	r.links.underlayErr = usererr.Errorf(hostnet.ErrNoUnderlay, "",
		"ovn-encap-ip %q is not on a device of this host and there is no IPv4 default route", "172.31.0.1")
	err := r.d.CreateNetwork(context.Background(), netReqID(nid, nil, &network.IPAMData{Pool: "10.0.0.0/24"}))
	if !errors.Is(err, hostnet.ErrNoUnderlay) {
		t.Errorf("cause lost: %v", err)
	}
	usererrtest.Check(t, err, nid[:12])
}

func TestEndpointErrorsReadOnce(t *testing.T) {
	ctx := context.Background()
	create := func(r *rig, addr, mac string) error {
		_, err := r.d.CreateEndpoint(ctx, &network.CreateEndpointRequest{NetworkID: nid, EndpointID: eid,
			Interface: &network.EndpointInterface{Address: addr, MacAddress: mac}})
		return err
	}
	t.Run("unknown network", func(t *testing.T) {
		usererrtest.Check(t, create(newRig(t), "10.77.0.3/24", ""), nid[:12])
	})
	for _, tc := range []struct{ name, addr, mac, object string }{
		{"address outside", "10.99.0.3/24", "", "10.99.0.3"},
		{"address without prefix", "10.77.0.3", "", `"10.77.0.3"`},
		{"bad MAC", "10.77.0.3/24", "zz", `"zz"`},
		{"multicast MAC", "10.77.0.3/24", "01:00:5e:00:00:01", `"01:00:5e:00:00:01"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.network(t)
			err := create(r, tc.addr, tc.mac)
			usererrtest.Check(t, err, tc.object)
			if len(r.nb.ports) != 0 {
				t.Errorf("port made anyway: %v", r.nb.ports)
			}
		})
	}
	t.Run("bad endpoint ID", func(t *testing.T) {
		r := newRig(t)
		err := r.d.DeleteEndpoint(ctx, &network.DeleteEndpointRequest{NetworkID: nid, EndpointID: "a/b"})
		usererrtest.Check(t, err, `endpoint ID "a/b"`)
	})
	t.Run("EndpointOperInfo of unknown endpoint", func(t *testing.T) {
		_, err := newRig(t).d.EndpointOperInfo(ctx, &network.InfoRequest{NetworkID: nid, EndpointID: eid})
		usererrtest.Check(t, err, eid[:12])
	})
}

func TestJoinErrorsReadOnce(t *testing.T) {
	ctx := context.Background()
	join := func(r *rig) error {
		_, err := r.d.Join(ctx, &network.JoinRequest{NetworkID: nid, EndpointID: eid})
		return err
	}
	t.Run("unknown endpoint", func(t *testing.T) {
		usererrtest.Check(t, join(newRig(t)), eid[:12])
	})
	t.Run("network gone", func(t *testing.T) {
		r := newRig(t)
		r.network(t)
		r.endpoint(t, "")
		delete(r.nb.switches, nid)
		usererrtest.Check(t, join(r), nid[:12])
	})
	t.Run("no bridge", func(t *testing.T) {
		r := newRig(t)
		r.network(t)
		r.endpoint(t, "")
		r.ovs.bridge = nil
		usererrtest.Check(t, join(r), "integration bridge br-int")
	})
	t.Run("unusable MAC", func(t *testing.T) {
		r := newRig(t)
		r.network(t)
		r.endpoint(t, "")
		p := r.nb.ports[eid]
		p.MAC = "bogus"
		r.nb.ports[eid] = p
		usererrtest.Check(t, join(r), `"bogus"`)
		if len(r.links.veths) != 0 {
			t.Errorf("veth made anyway: %v", r.links.veths)
		}
	})
}
