package nb

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// external_ids keys a driver-owned switch records about its Docker network.
const (
	subnetsKey  = "docker:subnets"
	gatewaysKey = "docker:gateways"
	mtuKey      = "docker:mtu"
	internalKey = "docker:internal"
	auxKey      = "docker:aux-addresses"
	// ChassisKey records the chassis whose daemon created a row (switches,
	// IPAM pools): that host's reconciliation looks after it.
	ChassisKey = "docker:chassis"
	poolsKey   = "docker:ipam-pools"
)

// Switch is a driver-owned logical switch: one Docker network.
type Switch struct {
	UUID      string
	Name      string
	NetworkID string
	Subnets   []string // CIDRs, IPv4 first
	Gateways  []string // CIDRs as Docker gave them; may be empty
	MTU       int
	Internal  bool
	Aux       []string // --aux-address addresses Docker's IPAM reserved
	Chassis   string   // the chassis whose daemon created it
	Pools     []string // "<address space>/<subnet>" of each pool, as Docker's IPAM named it
	Ports     int      // logical ports attached (filled on reads)
	// Shared is the ovn.network name of a switch shared by hosts (it is
	// then also its Name); empty for a per-host network's switch, whose
	// one user is NetworkID on Chassis.
	Shared string
	// Refs are the Docker networks using the switch: one per host (and
	// network) for a shared switch; the creator alone for a per-host one.
	Refs []Ref
	// Router is the ovn.router the network is attached to, if any.
	Router string
	// NoICC: its containers may not talk to each other
	// (com.docker.network.bridge.enable_icc=false).
	NoICC bool
	// Ingress is IngressExposed when containers accept connections only on
	// their exposed ports (ovn.ingress=exposed); empty: on every port.
	Ingress string
	// Isolate: on its router, the network reaches the outside but no
	// other network, and no other reaches it (ovn.isolate=true).
	Isolate bool
}

// Ref is one host's Docker network on a switch.
type Ref struct {
	NetworkID string
	Chassis   string
	Aux       []string // the --aux-address reservations of that host's network
}

func (s Switch) externalIDs() map[string]string {
	ids := map[string]string{
		subnetsKey:  strings.Join(s.Subnets, ","),
		gatewaysKey: strings.Join(s.Gateways, ","),
		mtuKey:      strconv.Itoa(s.MTU),
		internalKey: strconv.FormatBool(s.Internal),
		poolsKey:    strings.Join(s.Pools, ","),
	}
	if s.Router != "" {
		ids[routerKey] = s.Router
	}
	if s.NoICC {
		ids[iccKey] = "false"
	}
	if s.Ingress != "" {
		ids[ingressKey] = s.Ingress
	}
	if s.Isolate {
		ids[isolateKey] = "true"
	}
	if s.Shared != "" {
		ids[sharedKey] = s.Shared
		for _, r := range s.Refs {
			ids[r.key()] = strings.Join(r.Aux, ",")
		}
	} else {
		ids[ovs.NetworkIDKey], ids[ChassisKey], ids[auxKey] = s.NetworkID, s.Chassis, strings.Join(s.Aux, ",")
	}
	return ovs.Mark(ids)
}

func switchFromRow(ls *nbdb.LogicalSwitch) *Switch {
	ids := ls.ExternalIDs
	mtu, _ := strconv.Atoi(ids[mtuKey])
	internal, _ := strconv.ParseBool(ids[internalKey])
	s := &Switch{
		UUID: ls.UUID, Name: ls.Name, NetworkID: ids[ovs.NetworkIDKey],
		Subnets: SplitList(ids[subnetsKey]), Gateways: SplitList(ids[gatewaysKey]),
		MTU: mtu, Internal: internal, Aux: SplitList(ids[auxKey]), Chassis: ids[ChassisKey], Pools: SplitList(ids[poolsKey]),
		Ports: len(ls.Ports), Shared: ids[sharedKey], Router: ids[routerKey], NoICC: ids[iccKey] == "false",
		Ingress: ids[ingressKey], Isolate: ids[isolateKey] == "true",
	}
	if s.Router != "" && s.Ports > 0 {
		s.Ports-- // the router's own port is no endpoint
	}
	if s.Shared == "" {
		s.Refs = []Ref{{NetworkID: s.NetworkID, Chassis: s.Chassis, Aux: s.Aux}}
		return s
	}
	s.Refs = refsOf(ids)
	return s
}

// SplitList reads the comma-separated lists kept in external_ids.
func SplitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Builders: each returns the operations of one step.

// createSwitch inserts the switch, and the port group of its policy.
func (c *Client) createSwitch(s Switch) ([]ovsdb.Operation, error) {
	ops, err := c.DB().Create(&nbdb.LogicalSwitch{Name: s.Name, ExternalIDs: s.externalIDs()})
	if err != nil {
		return nil, err
	}
	more, err := c.policyOps(s)
	return append(ops, more...), err
}

// switchAbsent fails the transaction if any switch is named name:
// Logical_Switch has no unique index on name, so only the server can keep
// a retried or concurrent CreateNetwork from making a second one.
func switchAbsent(name string) ([]ovsdb.Operation, error) {
	return conn.Guard(conn.Named(nbdb.LogicalSwitchTable, false, name))
}

// switchIsNetworks fails the transaction unless the switch is (still) the
// network's, by UUID: what a mutation of it by UUID relies on.
func switchIsNetworks(s *Switch) ([]ovsdb.Operation, error) {
	mark := ownedBy(s.NetworkID)
	if s.Shared != "" {
		mark = conn.Includes("external_ids", ovs.Mark(map[string]string{sharedKey: s.Shared}))
	}
	return conn.Guard(conn.Wait(nbdb.LogicalSwitchTable, ovsdb.WaitConditionEqual,
		[]ovsdb.Condition{conn.UUIDIs(s.UUID), mark}, ovsdb.Row{"name": s.Name}))
}

// deleteSwitch deletes the switch (its ports go with it: OVN
// garbage-collects ports no switch refers to); its port group goes in
// step "group" (dropGroupOps).
func (c *Client) deleteSwitch(s *Switch) ([]ovsdb.Operation, error) {
	return c.DB().Where(&nbdb.LogicalSwitch{UUID: s.UUID}).Delete()
}

// Calls.

// EnsureSwitch creates the network's switch unless it already exists.
func (c *Client) EnsureSwitch(ctx context.Context, s Switch) (created bool, err error) {
	tx, err := c.NewTx(ctx)
	if err != nil {
		return false, err
	}
	tx.Add("absent")(switchAbsent(s.Name))
	tx.Add("create")(c.createSwitch(s))
	if err := tx.Err(); err != nil {
		return false, err
	}
	_, err = c.TransactIdempotent(ctx, tx.Ops...)
	if err == nil {
		return true, nil
	}
	if !tx.FailedIn(err, "absent") {
		return false, c.Failed(err, "create logical switch "+s.Name)
	}
	have, err := c.switchByName(ctx, s.Name)
	if err != nil {
		return false, err
	}
	if !ovs.Owned(have.ExternalIDs) || have.ExternalIDs[ovs.NetworkIDKey] != s.NetworkID {
		return false, usererr.Errorf(ovs.ErrConflict, "remove it with ovn-nbctl ls-del if nothing else uses it",
			"logical switch %s already exists in the %s and is not ovn-docker's switch for network %s",
			s.Name, c.Name(), short(s.NetworkID))
	}
	return false, nil
}

// switchByName reads any switch by name from the server: the cache holds
// only ours, and a name may be taken by another's.
func (c *Client) switchByName(ctx context.Context, name string) (*nbdb.LogicalSwitch, error) {
	rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, conn.NameIs(name))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, c.NotFound("logical switch " + name)
	}
	return rows[0], nil
}

// Switch returns the driver-owned switch of a Docker network: a per-host
// network's through the cache's index on the network ID, a shared one's
// among the (few) shared switches the cache holds; from the server when the
// cache has not seen it yet.
func (c *Client) Switch(ctx context.Context, networkID string) (*Switch, error) {
	var found []*nbdb.LogicalSwitch
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	what := "the logical switch of network " + short(networkID)
	key := &nbdb.LogicalSwitch{ExternalIDs: map[string]string{ovs.NetworkIDKey: networkID}}
	if err := c.DB().Where(key).List(ctx, &found); err != nil {
		return nil, c.ReadFailed(ctx, err, what)
	}
	usedBy := func(ls *nbdb.LogicalSwitch) bool {
		return ovs.Owned(ls.ExternalIDs) && (ls.ExternalIDs[ovs.NetworkIDKey] == networkID || hasRef(ls, networkID))
	}
	found = slices.DeleteFunc(found, func(ls *nbdb.LogicalSwitch) bool { return !usedBy(ls) })
	if len(found) == 0 {
		shared, err := conn.Cached(ctx, c.Conn, what, func(ls *nbdb.LogicalSwitch) bool { return hasRef(ls, networkID) })
		if err != nil {
			return nil, err
		}
		found = shared
	}
	if len(found) == 0 {
		rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, ours())
		if err != nil {
			return nil, err
		}
		found = slices.DeleteFunc(rows, func(ls *nbdb.LogicalSwitch) bool { return !usedBy(ls) })
	}
	if len(found) == 0 {
		return nil, c.NotFound(what)
	}
	return switchFromRow(found[0]), nil
}

// Switches lists every driver-owned switch, as the server has them.
func (c *Client) Switches(ctx context.Context) ([]*Switch, error) {
	rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable,
		ours())
	if err != nil {
		return nil, err
	}
	out := make([]*Switch, 0, len(rows))
	for _, r := range rows {
		if r.Name != ExternalSwitch { // the outside is no Docker network
			out = append(out, switchFromRow(r))
		}
	}
	return out, nil
}

// DeleteSwitch removes this host's (chassis') network networkID from its
// switch: a per-host network's switch goes; a shared one loses this host's
// reference and goes with the last. It reports whether the switch went.
func (c *Client) DeleteSwitch(ctx context.Context, networkID, chassis string) (deleted bool, err error) {
	s, err := c.Switch(ctx, networkID)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if s.Shared != "" {
		return c.leaveShared(ctx, s, Ref{NetworkID: networkID, Chassis: chassis})
	}
	for try := 0; try < joinTries; try++ {
		tx, err := c.NewTx(ctx)
		if err != nil {
			return false, err
		}
		tx.Add("router")(c.detachOps(ctx, s))
		tx.Add("delete")(c.deleteSwitch(s))
		tx.Add("group")(dropGroupOps(s), nil)
		if err := tx.Err(); err != nil {
			return false, err
		}
		res, err := c.TransactIdempotent(ctx, tx.Ops...)
		if tx.FailedIn(err, "router") {
			continue // another network joined or left the router meanwhile
		}
		if err != nil {
			return false, c.Failed(err, "delete the logical switch of network "+short(networkID))
		}
		return tx.Count(res, "delete") > 0, nil
	}
	return false, usererr.Errorf(nil, "try again", "logical router %s kept changing while network %s left it", s.Router, short(networkID))
}

// SwitchSubnets collects what any switch says of its subnets: ours in
// external_ids, OVN's own IPAM in other_config. IPAM reads it so default
// pools never overlap a switch.
func SwitchSubnets(ls *nbdb.LogicalSwitch) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range append(SplitList(ls.ExternalIDs[subnetsKey]), ls.OtherConfig["subnet"], ls.OtherConfig["ipv6_prefix"]) {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") { // ipv6_prefix may come without a length
			s += "/64"
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}
