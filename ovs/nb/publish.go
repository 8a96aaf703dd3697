package nb

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Published ports (docker run -p) of a container on a routed network are
// OVN load balancers on its router, one per endpoint and protocol, whose
// VIPs are the router's uplink address and a host port, and whose backend
// is the container's address and port. OVN applies them on the gateway
// chassis that holds the uplink, so they follow it on failover. Load
// balancers are root rows: they are deleted explicitly, with the endpoint
// or by reconciliation once its port is gone.

// Binding is one published port as Docker asks for it.
type Binding struct {
	Proto string // tcp, udp or sctp
	Port  uint16 // the container's
	// HostPort..HostPortEnd is where to publish: the first free one; 0
	// means any free port of the dynamic range, as Docker's bridge picks.
	HostPort, HostPortEnd uint16
	// HostIP, when valid, must be the router's uplink address: it is the
	// only one the router publishes on.
	HostIP netip.Addr
}

// Published is one published port as OVN has it.
type Published struct {
	EndpointID string
	Router     string
	Proto      string
	External   netip.AddrPort // router's uplink address and host port
	Internal   netip.AddrPort // container's address and port
}

// String says it as status prints it: 172.30.0.16:8080/tcp -> 10.0.0.2:80.
func (p Published) String() string {
	return fmt.Sprintf("%s/%s -> %s", p.External, p.Proto, p.Internal)
}

// Docker's bridge takes ports for -p PORT from the kernel's default
// ephemeral range; so does the router.
const dynamicLow, dynamicHigh = 32768, 60999

// takenBy maps "proto/hostport" to the endpoint that published it.
type takenBy map[string]string

func portKey(proto string, port uint16) string { return proto + "/" + strconv.Itoa(int(port)) }

// assign chooses host ports for bs on the router's address ext, for the
// container at ip, around those taken; pure, so a retry or a second call
// with the same bindings chooses the same ports.
func assign(router string, ext, ip netip.Addr, bs []Binding, taken takenBy) ([]Published, error) {
	mine := map[string]bool{}
	var out []Published
	for _, b := range bs {
		if b.HostIP.IsValid() && b.HostIP != ext {
			return nil, usererr.Errorf(nil, "use -p HOSTPORT:PORT without an address, or with "+ext.String(),
				"port %d/%s cannot be published on %s: routed networks publish on their router's address, %s of router %s",
				b.Port, b.Proto, b.HostIP, ext, router)
		}
		lo, hi := b.HostPort, b.HostPortEnd
		if lo == 0 {
			lo, hi = dynamicLow, dynamicHigh
		}
		port, err := firstFree(lo, hi, b.Proto, taken, mine, fmt.Sprintf("on %s of router %s", ext, router))
		if err != nil {
			return nil, err
		}
		mine[portKey(b.Proto, port)] = true
		out = append(out, Published{Router: router, Proto: b.Proto,
			External: netip.AddrPortFrom(ext, port), Internal: netip.AddrPortFrom(ip, b.Port)})
	}
	return out, nil
}

// firstFree picks the first host port of lo-hi that neither another
// endpoint nor this call has taken; where says on what, for errors.
func firstFree(lo, hi uint16, proto string, taken takenBy, mine map[string]bool, where string) (uint16, error) {
	for p := int(lo); p <= int(hi); p++ {
		k := portKey(proto, uint16(p))
		if taken[k] == "" && !mine[k] {
			return uint16(p), nil
		}
	}
	switch owner := taken[portKey(proto, lo)]; {
	case lo != hi:
		return 0, usererr.Errorf(ovs.ErrTaken, "choose another range of host ports",
			"every host port of %d-%d/%s %s is published already", lo, hi, proto, where)
	case owner != "":
		return 0, usererr.Errorf(ovs.ErrTaken, "choose another host port, or let one be chosen (-p PORT)",
			"host port %d/%s %s is published already, by endpoint %s", lo, proto, where, short(owner))
	default:
		return 0, usererr.Errorf(ovs.ErrTaken, "choose another host port for one of them",
			"host port %d/%s %s is asked for twice", lo, proto, where)
	}
}

// lbName names an endpoint's load balancer for a protocol.
func lbName(endpointID, proto string) string { return "docker-" + short(endpointID) + "-" + proto }

// lbModels groups published ports into one load balancer per protocol.
func lbModels(endpointID string, pub []Published) []*nbdb.LoadBalancer {
	byProto := map[string]*nbdb.LoadBalancer{}
	var out []*nbdb.LoadBalancer
	for _, p := range pub {
		lb := byProto[p.Proto]
		if lb == nil {
			proto := p.Proto
			lb = &nbdb.LoadBalancer{UUID: "new_lb_" + proto, Name: lbName(endpointID, proto), Protocol: &proto,
				Vips: map[string]string{}, ExternalIDs: ovs.Mark(map[string]string{ovs.EndpointIDKey: endpointID, routerKey: p.Router})}
			byProto[proto] = lb
			out = append(out, lb)
		}
		lb.Vips[p.External.String()] = p.Internal.String()
	}
	return out
}

// publishedFrom reads a load balancer row back into published ports.
func publishedFrom(lb *nbdb.LoadBalancer) []Published {
	var out []Published
	for vip, backend := range lb.Vips {
		ext, err1 := netip.ParseAddrPort(vip)
		in, err2 := netip.ParseAddrPort(backend)
		if err1 != nil || err2 != nil || lb.Protocol == nil {
			continue
		}
		out = append(out, Published{EndpointID: lb.ExternalIDs[ovs.EndpointIDKey], Router: lb.ExternalIDs[routerKey],
			Proto: *lb.Protocol, External: ext, Internal: in})
	}
	slices.SortFunc(out, func(a, b Published) int {
		return cmp.Or(cmp.Compare(a.External.Port(), b.External.Port()), cmp.Compare(a.Proto, b.Proto))
	})
	return out
}

func (c *Client) loadBalancers(ctx context.Context, where ...ovsdb.Condition) ([]*nbdb.LoadBalancer, error) {
	return conn.Select[*nbdb.LoadBalancer](ctx, c.Conn, nbdb.LoadBalancerTable, append(where, ours())...)
}

func endpointIs(endpointID string) ovsdb.Condition {
	return conn.Includes("external_ids", map[string]string{ovs.EndpointIDKey: endpointID})
}

// PublishedPorts lists every published port in the NB.
func (c *Client) PublishedPorts(ctx context.Context) ([]Published, error) {
	lbs, err := c.loadBalancers(ctx)
	if err != nil {
		return nil, err
	}
	var out []Published
	for _, lb := range lbs {
		out = append(out, publishedFrom(lb)...)
	}
	return out, nil
}

// unpublishOps removes load balancers lbs from every router of ours and
// deletes them.
func unpublishOps(lbs []*nbdb.LoadBalancer) []ovsdb.Operation {
	uuids := make([]string, 0, len(lbs))
	for _, lb := range lbs {
		uuids = append(uuids, lb.UUID)
	}
	return dropOps(nbdb.LogicalRouterTable, "load_balancer", nbdb.LoadBalancerTable, uuids)
}

// Unpublish removes the endpoint's published ports; none is success.
func (c *Client) Unpublish(ctx context.Context, endpointID string) (bool, error) {
	lbs, err := c.loadBalancers(ctx, endpointIs(endpointID))
	if err != nil || len(lbs) == 0 {
		return false, err
	}
	if _, err := c.TransactIdempotent(ctx, unpublishOps(lbs)...); err != nil {
		return false, c.Failed(err, "remove the published ports of endpoint "+short(endpointID))
	}
	return true, nil
}

// Publish makes the endpoint's published ports exactly bs, on its router's
// uplink address, for the container at ip: what it published before is
// replaced in the same transaction, which is guarded by the router's load
// balancers as read, so two hosts never take one host port.
func (c *Client) Publish(ctx context.Context, router, endpointID string, ip netip.Addr, bs []Binding) ([]Published, error) {
	for try := 0; try < joinTries; try++ {
		pub, again, err := c.publishOnce(ctx, router, endpointID, ip, bs)
		if !again {
			return pub, err
		}
	}
	return nil, usererr.Errorf(nil, "try again", "logical router %s kept changing while ports of endpoint %s were published",
		router, short(endpointID))
}

func (c *Client) publishOnce(ctx context.Context, router, endpointID string, ip netip.Addr, bs []Binding) ([]Published, bool, error) {
	lr, err := c.router(ctx, router)
	if err != nil || lr == nil {
		return nil, false, routerGone(router, err)
	}
	ext, err := c.uplinkIP(ctx, router)
	if err != nil {
		return nil, false, err
	}
	if !ext.IsValid() {
		return nil, false, usererr.Errorf(nil, "set the outside with ovn-docker gateway set, then start the container again",
			"ports cannot be published on logical router %s: it has no uplink to the outside", router)
	}
	lbs, err := c.loadBalancers(ctx, conn.Includes("external_ids", map[string]string{routerKey: router}))
	if err != nil {
		return nil, false, err
	}
	var mine []*nbdb.LoadBalancer
	// Only our own load balancers count: a user's on the uplink address
	// is theirs to keep apart.
	taken := takenBy{}
	for _, lb := range lbs {
		switch {
		case lb.ExternalIDs[ovs.EndpointIDKey] == endpointID:
			mine = append(mine, lb)
		case slices.Contains(lr.LoadBalancer, lb.UUID):
			for _, p := range publishedFrom(lb) {
				taken[portKey(p.Proto, p.External.Port())] = p.EndpointID
			}
		}
	}
	want, err := assign(router, ext, ip, bs, taken)
	if err != nil {
		return nil, false, err
	}
	for i := range want {
		want[i].EndpointID = endpointID
	}
	if sameLBs(mine, lbModels(endpointID, want)) && allOn(lr, mine) {
		return want, false, nil
	}
	ops, err := c.publishOps(lr, mine, lbModels(endpointID, want))
	if err != nil {
		return nil, false, err
	}
	_, err = c.TransactIdempotent(ctx, ops...)
	if conn.FailedAt(err, 0) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, c.Failed(err, "publish the ports of endpoint "+short(endpointID)+" on logical router "+router)
	}
	return want, false, nil
}

// publishOps replaces old with lbs on router lr, guarded (first op) by the
// router's load balancers as read.
func (c *Client) publishOps(lr *nbdb.LogicalRouter, old, lbs []*nbdb.LoadBalancer) ([]ovsdb.Operation, error) {
	ops := []ovsdb.Operation{conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual, []ovsdb.Condition{conn.UUIDIs(lr.UUID)},
		ovsdb.Row{"load_balancer": uuidSet(lr.LoadBalancer)})}
	ops = append(ops, unpublishOps(old)...)
	var uuids []string
	for _, lb := range lbs {
		more, err := c.DB().Create(lb)
		if err != nil {
			return nil, err
		}
		ops, uuids = append(ops, more...), append(uuids, lb.UUID)
	}
	if len(uuids) == 0 {
		return ops, nil
	}
	m := &nbdb.LogicalRouter{UUID: lr.UUID}
	more, err := c.DB().Where(m).Mutate(m, model.Mutation{Field: &m.LoadBalancer, Mutator: ovsdb.MutateOperationInsert, Value: uuids})
	return append(ops, more...), err
}

// sameLBs: the endpoint already has exactly these load balancers.
func sameLBs(have, want []*nbdb.LoadBalancer) bool {
	if len(have) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h *nbdb.LoadBalancer) bool {
			return h.Protocol != nil && *h.Protocol == *w.Protocol && maps.Equal(h.Vips, w.Vips)
		}) {
			return false
		}
	}
	return true
}

func allOn(lr *nbdb.LogicalRouter, lbs []*nbdb.LoadBalancer) bool {
	for _, lb := range lbs {
		if !slices.Contains(lr.LoadBalancer, lb.UUID) {
			return false
		}
	}
	return true
}

func routerGone(router string, err error) error {
	if err != nil {
		return err
	}
	return usererr.Errorf(ovs.ErrNotFound, "remove the network and create it again",
		"logical router %s is gone from the OVN northbound database", router)
}

// PrunePublished removes the published ports of endpoints whose logical
// port is gone: a container removed while the plugin was down, or a crash
// between the two. Load balancers are read before ports, so one made
// meanwhile always finds its port.
func (c *Client) PrunePublished(ctx context.Context) ([]string, error) {
	lbs, err := c.loadBalancers(ctx)
	if err != nil || len(lbs) == 0 {
		return nil, err
	}
	check := map[string]string{}
	for _, lb := range lbs {
		check[lb.ExternalIDs[ovs.EndpointIDKey]] = ""
	}
	bound, err := c.boundEndpoints(ctx, check)
	if err != nil {
		return nil, err
	}
	lbs = slices.DeleteFunc(lbs, func(lb *nbdb.LoadBalancer) bool {
		_, live := bound[lb.ExternalIDs[ovs.EndpointIDKey]]
		return live
	})
	if len(lbs) == 0 {
		return nil, nil
	}
	if _, err := c.TransactIdempotent(ctx, unpublishOps(lbs)...); err != nil {
		return nil, c.Failed(err, "remove the published ports of removed endpoints")
	}
	var names []string
	for _, lb := range lbs {
		names = append(names, lb.Name)
	}
	return names, nil
}
