package ovs

import (
	"context"
	"strconv"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// external_ids keys a driver-owned switch records about its Docker network.
const (
	subnetsKey  = "docker:subnets"
	gatewaysKey = "docker:gateways"
	mtuKey      = "docker:mtu"
	internalKey = "docker:internal"
	auxKey      = "docker:aux-addresses"
	chassisKey  = "docker:chassis"
	poolsKey    = "docker:ipam-pools"
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
	return map[string]string{
		OwnerKey:     OwnerValue,
		NetworkIDKey: s.NetworkID,
		subnetsKey:   strings.Join(s.Subnets, ","),
		gatewaysKey:  strings.Join(s.Gateways, ","),
		mtuKey:       strconv.Itoa(s.MTU),
		internalKey:  strconv.FormatBool(s.Internal),
		auxKey:       strings.Join(s.Aux, ","),
		chassisKey:   s.Chassis,
		poolsKey:     strings.Join(s.Pools, ","),
	}
}

func switchFromRow(ls *nbdb.LogicalSwitch) *Switch {
	ids := ls.ExternalIDs
	mtu, _ := strconv.Atoi(ids[mtuKey])
	internal, _ := strconv.ParseBool(ids[internalKey])
	return &Switch{
		UUID: ls.UUID, Name: ls.Name, NetworkID: ids[NetworkIDKey],
		Subnets: splitList(ids[subnetsKey]), Gateways: splitList(ids[gatewaysKey]),
		MTU: mtu, Internal: internal, Aux: splitList(ids[auxKey]), Chassis: ids[chassisKey], Pools: splitList(ids[poolsKey]),
		Ports: len(ls.Ports),
	}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func isOwned(ids map[string]string) bool { return ids[OwnerKey] == OwnerValue }

// EnsureSwitch creates the network's switch unless it already exists. The
// server-side guard on the name makes a retried or concurrent CreateNetwork
// a no-op instead of a second switch.
func (nb *NB) EnsureSwitch(ctx context.Context, s Switch) (created bool, err error) {
	ops := []ovsdb.Operation{
		guard(nbdb.LogicalSwitchTable, false, s.Name),
		insertOp(nbdb.LogicalSwitchTable, "", ovsdb.Row{
			"name": s.Name, "external_ids": strMap(s.externalIDs()),
		}),
	}
	_, err = nb.transactIdempotent(ctx, ops...)
	if err == nil {
		return true, nil
	}
	if !failedAt(err, 0) {
		return false, nb.failed(err, "create logical switch "+s.Name)
	}
	have, err := nb.switchByName(ctx, s.Name)
	if err != nil {
		return false, err
	}
	if !isOwned(have.ExternalIDs) || have.ExternalIDs[NetworkIDKey] != s.NetworkID {
		return false, usererr.Errorf(ErrConflict, "remove it with ovn-nbctl ls-del if nothing else uses it",
			"logical switch %s already exists in the %s and is not ovn-docker's switch for network %s",
			s.Name, nb.name, short(s.NetworkID))
	}
	return false, nil
}

func (nb *NB) switchByName(ctx context.Context, name string) (*nbdb.LogicalSwitch, error) {
	rows, err := selectRows[*nbdb.LogicalSwitch](ctx, nb.conn, nbdb.LogicalSwitchTable, nameIs(name))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nb.notFound("logical switch " + name)
	}
	return rows[0], nil
}

// Switch returns the driver-owned switch of a Docker network.
func (nb *NB) Switch(ctx context.Context, networkID string) (*Switch, error) {
	found, err := lookup(ctx, nb.conn, nbdb.LogicalSwitchTable, func(ls *nbdb.LogicalSwitch) bool {
		return isOwned(ls.ExternalIDs) && ls.ExternalIDs[NetworkIDKey] == networkID
	}, ownedBy(networkID))
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, nb.notFound("the logical switch of network " + short(networkID))
	}
	return switchFromRow(found[0]), nil
}

// Switches lists every driver-owned switch.
func (nb *NB) Switches(ctx context.Context) ([]*Switch, error) {
	rows, err := selectRows[*nbdb.LogicalSwitch](ctx, nb.conn, nbdb.LogicalSwitchTable,
		ovsdb.NewCondition("external_ids", ovsdb.ConditionIncludes, strMap(map[string]string{OwnerKey: OwnerValue})))
	if err != nil {
		return nil, err
	}
	out := make([]*Switch, 0, len(rows))
	for _, r := range rows {
		out = append(out, switchFromRow(r))
	}
	return out, nil
}

// DeleteSwitch removes the network's switch if it is there; its ports go
// with it (OVN garbage-collects ports no switch refers to).
func (nb *NB) DeleteSwitch(ctx context.Context, networkID string) (deleted bool, err error) {
	res, err := nb.transactIdempotent(ctx, ovsdb.Operation{
		Op: ovsdb.OperationDelete, Table: nbdb.LogicalSwitchTable,
		Where: []ovsdb.Condition{ownedBy(networkID)},
	})
	if err != nil {
		return false, nb.failed(err, "delete the logical switch of network "+short(networkID))
	}
	return count(res, 0) > 0, nil
}
