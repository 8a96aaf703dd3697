package nb

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// The outside world: the operator describes it once (ovn-docker gateway
// set) and it is kept on the external switch, docker-external, whose
// localnet port reaches the physical network through each gateway
// chassis' ovn-bridge-mappings. Every daemon reads it from there, so hosts
// never disagree. A router made while it is set gets an uplink: a
// distributed gateway port rtoe-<router> on the external switch, bound to
// the gateway chassis by priority (OVN moves it on failure, with BFD), an
// address of its own from the external range, a default route to the next
// hop, and one SNAT row per attached IPv4 subnet to that address.
const (
	ExternalSwitch   = "docker-external"
	externalLocalnet = "docker-external-localnet"
	extSubnetKey     = "docker:external-subnet"
	extNextHopKey    = "docker:external-next-hop"
	extRangeKey      = "docker:external-range"
	extChassisKey    = "docker:gateway-chassis"
	extPhysnetKey    = "docker:physnet"
	uplinkKey        = "docker:uplink"
	newUplink        = "new_uplink"
	newUplinkPeer    = "new_etor"
	newRoute         = "new_route"
)

// External is the outside as the operator gave it.
type External struct {
	Subnet  netip.Prefix // the external segment (IPv4)
	NextHop netip.Addr   // where routers send what leaves
	Range   netip.Prefix // where routers' addresses come from; within Subnet
	Chassis []string     // gateway chassis, highest priority first
	Physnet string       // the ovn-bridge-mappings name of the segment
}

// String says it as ovn-docker gateway show and status print it.
func (e External) String() string {
	return fmt.Sprintf("segment %s, next hop %s, router addresses from %s, gateway chassis %s (highest priority first), physnet %s",
		e.Subnet, e.NextHop, e.Range, strings.Join(e.Chassis, ","), e.Physnet)
}

func (e External) ids() map[string]string {
	return ovs.Mark(map[string]string{extSubnetKey: e.Subnet.String(), extNextHopKey: e.NextHop.String(),
		extRangeKey: e.Range.String(), extChassisKey: strings.Join(e.Chassis, ","), extPhysnetKey: e.Physnet})
}

func externalFromRow(ls *nbdb.LogicalSwitch) (*External, error) {
	ids := ls.ExternalIDs
	e := &External{Chassis: SplitList(ids[extChassisKey]), Physnet: ids[extPhysnetKey]}
	var err1, err2, err3 error
	e.Subnet, err1 = netip.ParsePrefix(ids[extSubnetKey])
	e.NextHop, err2 = netip.ParseAddr(ids[extNextHopKey])
	e.Range, err3 = netip.ParsePrefix(ids[extRangeKey])
	if err1 != nil || err2 != nil || err3 != nil || len(e.Chassis) == 0 {
		return nil, usererr.Errorf(nil, "set it again with ovn-docker gateway set",
			"logical switch %s does not hold a usable outside (external_ids %v)", ExternalSwitch, ids)
	}
	return e, nil
}

// externalRow reads the external switch and its settings; both nil when
// no outside is set.
func (c *Client) externalRow(ctx context.Context) (*nbdb.LogicalSwitch, *External, error) {
	rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, conn.NameIs(ExternalSwitch))
	if err != nil || len(rows) == 0 {
		return nil, nil, err
	}
	if !ovs.Owned(rows[0].ExternalIDs) {
		return nil, nil, usererr.Errorf(ovs.ErrConflict, "remove it with ovn-nbctl ls-del if nothing uses it",
			"logical switch %s already exists in the %s and is not ovn-docker's", ExternalSwitch, c.Name())
	}
	e, err := externalFromRow(rows[0])
	return rows[0], e, err
}

// External returns the outside; nil when none is set.
func (c *Client) External(ctx context.Context) (*External, error) {
	_, e, err := c.externalRow(ctx)
	return e, err
}

// SetExternal sets the outside: the external switch and its localnet port
// are made the first time, their settings replaced after. Routers keep the
// uplink they were given; routers made later follow the new settings.
func (c *Client) SetExternal(ctx context.Context, e External) error {
	ls, _, err := c.externalRow(ctx)
	if err != nil && ls == nil {
		return err
	}
	tx, err := c.NewTx(ctx)
	if err != nil {
		return err
	}
	lsp := &nbdb.LogicalSwitchPort{UUID: "new_localnet", Name: externalLocalnet, Type: "localnet",
		Addresses: []string{"unknown"}, Options: map[string]string{"network_name": e.Physnet}}
	if ls == nil {
		tx.Add("absent")(switchAbsent(ExternalSwitch))
		tx.Add("localnet")(c.DB().Create(lsp))
		tx.Add("switch")(c.DB().Create(&nbdb.LogicalSwitch{Name: ExternalSwitch, Ports: []string{lsp.UUID}, ExternalIDs: e.ids()}))
	} else {
		row := &nbdb.LogicalSwitch{UUID: ls.UUID, ExternalIDs: e.ids()}
		tx.Add("switch")(c.DB().Where(row).Update(row, &row.ExternalIDs))
		tx.Add("localnet")(conn.Guard(ovsdb.Operation{Op: ovsdb.OperationUpdate, Table: nbdb.LogicalSwitchPortTable,
			Where: []ovsdb.Condition{conn.NameIs(externalLocalnet)}, Row: ovsdb.Row{"options": conn.StrMap(lsp.Options)}}))
	}
	if err := tx.Err(); err != nil {
		return err
	}
	if _, err := c.TransactIdempotent(ctx, tx.Ops...); err != nil {
		return c.Failed(err, "set the outside on logical switch "+ExternalSwitch)
	}
	return nil
}

// UnsetExternal removes the outside; it refuses while a router has an
// uplink, which would lose its way out.
func (c *Client) UnsetExternal(ctx context.Context) error {
	uplinks, err := c.uplinks(ctx)
	if err != nil {
		return err
	}
	if len(uplinks) > 0 {
		return usererr.Errorf(ovs.ErrConflict, "remove the routed networks first (docker network rm)",
			"the outside (logical switch %s) is in use by %d router(s)", ExternalSwitch, len(uplinks))
	}
	ls, _, err := c.externalRow(ctx)
	if ls == nil {
		return err
	}
	tx, err := c.NewTx(ctx)
	if err != nil {
		return err
	}
	tx.Add("delete")(c.DB().Where(&nbdb.LogicalSwitch{UUID: ls.UUID}).Delete())
	if err := tx.Err(); err != nil {
		return err
	}
	if _, err := c.TransactIdempotent(ctx, tx.Ops...); err != nil {
		return c.Failed(err, "remove logical switch "+ExternalSwitch)
	}
	return nil
}

// UplinkPortName is a router's distributed gateway port.
func UplinkPortName(router string) string { return "rtoe-" + router }

func uplinkPeerName(router string) string { return "etor-" + router }

// uplinks lists the routers' uplink ports.
func (c *Client) uplinks(ctx context.Context) ([]*nbdb.LogicalRouterPort, error) {
	rows, err := c.ownedRouterPorts(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(rows, func(p *nbdb.LogicalRouterPort) bool { return p.ExternalIDs[uplinkKey] == "" }), nil
}

// uplink is what a new router's uplink needs: the outside, the external
// switch as read (its ports guard the address choice), and the address.
type uplink struct {
	ext *External
	ls  *nbdb.LogicalSwitch
	ip  netip.Addr
}

// newUplinkFor picks the next free address of the external range for a
// router about to be made; nil when no outside is set.
func (c *Client) newUplinkFor(ctx context.Context) (*uplink, error) {
	ls, ext, err := c.externalRow(ctx)
	if ls == nil || err != nil {
		return nil, err
	}
	lrps, err := c.uplinks(ctx)
	if err != nil {
		return nil, err
	}
	used := map[netip.Addr]bool{ext.NextHop: true}
	for _, p := range lrps {
		for _, n := range p.Networks {
			if pfx, err := netip.ParsePrefix(n); err == nil {
				used[pfx.Addr()] = true
			}
		}
	}
	last := lastAddr(ext.Subnet)
	for a := ext.Range.Masked().Addr(); ext.Range.Contains(a); a = a.Next() {
		if a != ext.Subnet.Masked().Addr() && a != last && !used[a] {
			return &uplink{ext: ext, ls: ls, ip: a}, nil
		}
	}
	return nil, usererr.Errorf(nil, "give the outside a larger range with ovn-docker gateway set --range",
		"the external range %s has no address left for a new router", ext.Range)
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	for i := 0; i < 4; i++ {
		b[3-i] |= byte(host >> (8 * i))
	}
	return netip.AddrFrom4(b)
}

// uplinkOps gives a router being made its uplink; the router's row takes
// newUplink into its ports and newRoute into its static routes.
func (c *Client) uplinkOps(router string, u *uplink) ([]ovsdb.Operation, error) {
	port := UplinkPortName(router)
	var ops []ovsdb.Operation
	add := func(more []ovsdb.Operation, err error) error {
		ops = append(ops, more...)
		return err
	}
	var gcs []string
	for i, ch := range u.ext.Chassis {
		gc := &nbdb.GatewayChassis{UUID: fmt.Sprintf("new_gc%d", i), Name: port + "-" + ch, ChassisName: ch,
			Priority: len(u.ext.Chassis) - i, ExternalIDs: ovs.Mark(nil)}
		if err := add(c.DB().Create(gc)); err != nil {
			return nil, err
		}
		gcs = append(gcs, gc.UUID)
	}
	mac, _ := routerMAC([]string{netip.PrefixFrom(u.ip, 32).String()})
	lrp := &nbdb.LogicalRouterPort{UUID: newUplink, Name: port, MAC: mac, GatewayChassis: gcs,
		Networks:    []string{netip.PrefixFrom(u.ip, u.ext.Subnet.Bits()).String()},
		ExternalIDs: ovs.Mark(map[string]string{uplinkKey: router})}
	route := &nbdb.LogicalRouterStaticRoute{UUID: newRoute, IPPrefix: "0.0.0.0/0", Nexthop: u.ext.NextHop.String(),
		ExternalIDs: ovs.Mark(nil)}
	peer := &nbdb.LogicalSwitchPort{UUID: newUplinkPeer, Name: uplinkPeerName(router), Type: "router",
		Addresses: []string{"router"}, Options: map[string]string{"router-port": port}}
	ext := &nbdb.LogicalSwitch{UUID: u.ls.UUID}
	// The external switch's ports as read: two routers made at once never
	// take one address.
	ops = append(ops, conn.Wait(nbdb.LogicalSwitchTable, ovsdb.WaitConditionEqual,
		[]ovsdb.Condition{conn.UUIDIs(u.ls.UUID)}, ovsdb.Row{"ports": uuidSet(u.ls.Ports)}))
	for _, m := range []model.Model{lrp, route, peer} {
		if err := add(c.DB().Create(m)); err != nil {
			return nil, err
		}
	}
	err := add(c.DB().Where(ext).Mutate(ext, model.Mutation{Field: &ext.Ports, Mutator: ovsdb.MutateOperationInsert,
		Value: []string{newUplinkPeer}}))
	return ops, err
}

// natOps translates the IPv4 subnets of switch s to the router's uplink
// address; the NAT rows are named new_nat<k>_<i> (k tells switches apart)
// for the router to take.
func (c *Client) natOps(s *Switch, ip netip.Addr, k int) ([]ovsdb.Operation, []string, error) {
	var ops []ovsdb.Operation
	var uuids []string
	for i, sub := range s.Subnets {
		p, err := netip.ParsePrefix(sub)
		if err != nil || !p.Addr().Is4() {
			continue
		}
		nat := &nbdb.NAT{UUID: fmt.Sprintf("new_nat%d_%d", k, i), Type: nbdb.NATTypeSNAT, ExternalIP: ip.String(),
			LogicalIP: p.Masked().String(), ExternalIDs: ovs.Mark(map[string]string{routerSwitchKey: s.Name})}
		more, err := c.DB().Create(nat)
		if err != nil {
			return nil, nil, err
		}
		ops, uuids = append(ops, more...), append(uuids, nat.UUID)
	}
	return ops, uuids, nil
}

// uplinkIP is the address of an existing router's uplink; invalid when it
// has none (made while no outside was set).
func (c *Client) uplinkIP(ctx context.Context, router string) (netip.Addr, error) {
	rows, err := conn.Select[*nbdb.LogicalRouterPort](ctx, c.Conn, nbdb.LogicalRouterPortTable, conn.NameIs(UplinkPortName(router)))
	if err != nil || len(rows) == 0 || len(rows[0].Networks) == 0 {
		return netip.Addr{}, err
	}
	p, err := netip.ParsePrefix(rows[0].Networks[0])
	if err != nil {
		return netip.Addr{}, nil
	}
	return p.Addr(), nil
}

// EnsureUplinks gives each router that has none an uplink, with SNAT for
// its networks, once an outside is set: a router made before would
// otherwise never get out. ovn-docker gateway set runs it, and so does
// every reconciliation pass. It returns the routers it gave one.
func (c *Client) EnsureUplinks(ctx context.Context) ([]string, error) {
	lrs, err := c.ownedRouters(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, lr := range lrs {
		added, err := c.ensureUplink(ctx, lr.Name)
		if err != nil {
			return done, err
		}
		if added {
			done = append(done, lr.Name)
		}
	}
	return done, nil
}

// ensureUplink gives router name an uplink if it has none and an outside
// is set, starting over when the router or the external switch changed.
func (c *Client) ensureUplink(ctx context.Context, name string) (bool, error) {
	for try := 0; try < joinTries; try++ {
		lr, err := c.router(ctx, name)
		if lr == nil || err != nil {
			return false, err
		}
		if ip, err := c.uplinkIP(ctx, name); ip.IsValid() || err != nil {
			return false, err
		}
		up, err := c.newUplinkFor(ctx)
		if up == nil || err != nil {
			return false, err
		}
		tx, err := c.NewTx(ctx)
		if err != nil {
			return false, err
		}
		tx.Add("router")(c.addUplinkOps(ctx, lr, up))
		if err := tx.Err(); err != nil {
			return false, err
		}
		_, err = c.TransactIdempotent(ctx, tx.Ops...)
		if tx.FailedIn(err, "router") || conn.IndexClash(err, "name") {
			continue
		}
		if err != nil {
			return false, c.Failed(err, "give logical router "+name+" its uplink")
		}
		return true, nil
	}
	return false, usererr.Errorf(nil, "try again", "logical router %s kept changing while it was given its uplink", name)
}

// addUplinkOps adds an uplink to an existing router, guarded by its ports
// as read, with SNAT for the switches those ports attach.
func (c *Client) addUplinkOps(ctx context.Context, lr *nbdb.LogicalRouter, up *uplink) ([]ovsdb.Operation, error) {
	ops := []ovsdb.Operation{conn.Wait(nbdb.LogicalRouterTable, ovsdb.WaitConditionEqual, []ovsdb.Condition{conn.UUIDIs(lr.UUID)},
		ovsdb.Row{"ports": uuidSet(lr.Ports)})}
	more, err := c.uplinkOps(lr.Name, up)
	if err != nil {
		return nil, err
	}
	ops = append(ops, more...)
	lrps, err := c.ownedRouterPorts(ctx)
	if err != nil {
		return nil, err
	}
	var nats []string
	for k, p := range lrps {
		name := p.ExternalIDs[routerSwitchKey]
		if name == "" || !slices.Contains(lr.Ports, p.UUID) {
			continue
		}
		rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, conn.NameIs(name))
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			continue
		}
		more, uuids, err := c.natOps(switchFromRow(rows[0]), up.ip, k)
		if err != nil {
			return nil, err
		}
		ops, nats = append(ops, more...), append(nats, uuids...)
	}
	m := &nbdb.LogicalRouter{UUID: lr.UUID}
	muts := []model.Mutation{
		{Field: &m.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{newUplink}},
		{Field: &m.StaticRoutes, Mutator: ovsdb.MutateOperationInsert, Value: []string{newRoute}},
	}
	if len(nats) > 0 {
		muts = append(muts, model.Mutation{Field: &m.Nat, Mutator: ovsdb.MutateOperationInsert, Value: nats})
	}
	mut, err := c.DB().Where(m).Mutate(m, muts...)
	return append(ops, mut...), err
}
