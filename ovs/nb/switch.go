package nb

import (
	"context"
	"net/netip"
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
}

func (s Switch) externalIDs() map[string]string {
	return ovs.Mark(map[string]string{
		ovs.NetworkIDKey: s.NetworkID,
		subnetsKey:       strings.Join(s.Subnets, ","),
		gatewaysKey:      strings.Join(s.Gateways, ","),
		mtuKey:           strconv.Itoa(s.MTU),
		internalKey:      strconv.FormatBool(s.Internal),
		auxKey:           strings.Join(s.Aux, ","),
		ChassisKey:       s.Chassis,
		poolsKey:         strings.Join(s.Pools, ","),
	})
}

func switchFromRow(ls *nbdb.LogicalSwitch) *Switch {
	ids := ls.ExternalIDs
	mtu, _ := strconv.Atoi(ids[mtuKey])
	internal, _ := strconv.ParseBool(ids[internalKey])
	return &Switch{
		UUID: ls.UUID, Name: ls.Name, NetworkID: ids[ovs.NetworkIDKey],
		Subnets: SplitList(ids[subnetsKey]), Gateways: SplitList(ids[gatewaysKey]),
		MTU: mtu, Internal: internal, Aux: SplitList(ids[auxKey]), Chassis: ids[ChassisKey], Pools: SplitList(ids[poolsKey]),
		Ports: len(ls.Ports),
	}
}

// SplitList reads the comma-separated lists kept in external_ids.
func SplitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Builders: each returns the operations of one step.

// createSwitch inserts the switch.
func (c *Client) createSwitch(s Switch) ([]ovsdb.Operation, error) {
	return c.DB().Create(&nbdb.LogicalSwitch{Name: s.Name, ExternalIDs: s.externalIDs()})
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
	return conn.Guard(conn.Wait(nbdb.LogicalSwitchTable, ovsdb.WaitConditionEqual,
		[]ovsdb.Condition{conn.UUIDIs(s.UUID), ownedBy(s.NetworkID)}, ovsdb.Row{"name": s.Name}))
}

// deleteSwitch deletes the switch (its ports go with it: OVN
// garbage-collects ports no switch refers to).
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

// Switch returns the driver-owned switch of a Docker network, found
// through the cache's index on the network ID.
func (c *Client) Switch(ctx context.Context, networkID string) (*Switch, error) {
	var found []*nbdb.LogicalSwitch
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	key := &nbdb.LogicalSwitch{ExternalIDs: map[string]string{ovs.NetworkIDKey: networkID}}
	if err := c.DB().Where(key).List(ctx, &found); err != nil {
		return nil, c.ReadFailed(ctx, err, "the logical switch of network "+short(networkID))
	}
	for _, ls := range found {
		if ovs.Owned(ls.ExternalIDs) {
			return switchFromRow(ls), nil
		}
	}
	rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable, ownedBy(networkID))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, c.NotFound("the logical switch of network " + short(networkID))
	}
	return switchFromRow(rows[0]), nil
}

// Switches lists every driver-owned switch, as the server has them.
func (c *Client) Switches(ctx context.Context) ([]*Switch, error) {
	rows, err := conn.Select[*nbdb.LogicalSwitch](ctx, c.Conn, nbdb.LogicalSwitchTable,
		conn.Includes("external_ids", ovs.Mark(nil)))
	if err != nil {
		return nil, err
	}
	out := make([]*Switch, 0, len(rows))
	for _, r := range rows {
		out = append(out, switchFromRow(r))
	}
	return out, nil
}

// DeleteSwitch removes the network's switch if it is there.
func (c *Client) DeleteSwitch(ctx context.Context, networkID string) (deleted bool, err error) {
	s, err := c.Switch(ctx, networkID)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	tx, err := c.NewTx(ctx)
	if err != nil {
		return false, err
	}
	tx.Add("delete")(c.deleteSwitch(s))
	if err := tx.Err(); err != nil {
		return false, err
	}
	res, err := c.TransactIdempotent(ctx, tx.Ops...)
	if err != nil {
		return false, c.Failed(err, "delete the logical switch of network "+short(networkID))
	}
	return tx.Count(res, "delete") > 0, nil
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
