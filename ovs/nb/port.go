package nb

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

// Port is a driver-owned logical switch port: one Docker endpoint.
type Port struct {
	UUID       string
	Name       string
	NetworkID  string
	EndpointID string
	MAC        string
	IPs        []string // without prefix length
	Chassis    string   // options:requested-chassis
	Up         bool
	IfName     string // the interface name asked for inside the container, if any
	// Parent is the VM's port of a nested port (parent_name), whose VLAN
	// tag northd picks (tag_request 0) and Tag reads back; empty for a
	// port of a chassis.
	Parent string
	Tag    int
	// Exposed are the ports it accepts connections on where the network
	// lets in only those (EnsureExposed); not read back.
	Exposed []Exposed
}

// ifNameKey records the interface name asked for inside the container,
// which Docker sends in CreateEndpoint but Join must answer with.
const ifNameKey = "docker:ifname"

// newPort is the named UUID a port inserted by this transaction goes by.
const newPort = "new_lsp"

func (p Port) model(uuid string) *nbdb.LogicalSwitchPort {
	addr := []string{strings.Join(append([]string{p.MAC}, p.IPs...), " ")}
	ids := map[string]string{ovs.NetworkIDKey: p.NetworkID, ovs.EndpointIDKey: p.EndpointID}
	if p.IfName != "" {
		ids[ifNameKey] = p.IfName
	}
	lsp := &nbdb.LogicalSwitchPort{UUID: uuid, Name: p.Name, Addresses: addr, PortSecurity: addr,
		Options: map[string]string{}, ExternalIDs: ovs.Mark(ids)}
	if p.Chassis != "" {
		lsp.Options["requested-chassis"] = p.Chassis
	}
	if p.Parent != "" {
		// A nested port goes where its parent is bound: a requested
		// chassis would only keep ovn-controller from claiming it.
		anyTag := 0
		lsp.ParentName, lsp.TagRequest = &p.Parent, &anyTag
	}
	return lsp
}

func portFromRow(lsp *nbdb.LogicalSwitchPort) *Port {
	p := &Port{
		UUID: lsp.UUID, Name: lsp.Name, NetworkID: lsp.ExternalIDs[ovs.NetworkIDKey],
		EndpointID: lsp.ExternalIDs[ovs.EndpointIDKey], Chassis: lsp.Options["requested-chassis"],
		Up: lsp.Up != nil && *lsp.Up, IfName: lsp.ExternalIDs[ifNameKey],
	}
	if lsp.ParentName != nil {
		p.Parent = *lsp.ParentName
	}
	if lsp.Tag != nil {
		p.Tag = *lsp.Tag
	}
	if len(lsp.Addresses) > 0 {
		f := strings.Fields(lsp.Addresses[0])
		if len(f) > 0 {
			p.MAC, p.IPs = f[0], f[1:]
		}
	}
	return p
}

// Builders.

// createPortOnSwitch inserts the port and adds it to its switch: a port is
// not a root row, so it can never be left without one.
func (c *Client) createPortOnSwitch(s *Switch, p Port) ([]ovsdb.Operation, error) {
	ops, err := c.DB().Create(p.model(newPort))
	if err != nil {
		return nil, err
	}
	ls := &nbdb.LogicalSwitch{UUID: s.UUID}
	add, err := c.DB().Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports,
		Mutator: ovsdb.MutateOperationInsert, Value: []string{newPort}})
	if err != nil {
		return nil, err
	}
	acl, err := c.endpointACLOps(s, p)
	return append(append(append(ops, add...), joinGroupOps(s, newPort)...), acl...), err
}

// updatePort brings an existing port to p, its parent included (a port
// left without one would never be tagged).
func (c *Client) updatePort(uuid string, p Port) ([]ovsdb.Operation, error) {
	m := p.model(uuid)
	return c.DB().Where(m).Update(m, &m.Addresses, &m.PortSecurity, &m.Options, &m.ExternalIDs, &m.ParentName, &m.TagRequest)
}

// Calls.

// EnsurePort creates the endpoint's port on the network's switch s, in the
// same transaction that adds it to the switch. If the port is already
// there (a retried CreateEndpoint), it is brought to the wanted state.
func (c *Client) EnsurePort(ctx context.Context, s *Switch, p Port) (created bool, err error) {
	tx, err := c.NewTx(ctx)
	if err != nil {
		return false, err
	}
	tx.Add("switch")(switchIsNetworks(s))
	tx.Add("group")(groupPresent(s))
	tx.Add("create")(c.createPortOnSwitch(s, p))
	if err := tx.Err(); err != nil {
		return false, err
	}
	_, err = c.TransactIdempotent(ctx, tx.Ops...)
	switch {
	case err == nil:
		return true, nil
	case tx.FailedIn(err, "switch"):
		return false, c.NotFound("the logical switch of network " + short(p.NetworkID))
	case tx.FailedIn(err, "group"):
		return false, c.groupGone(s)
	case conn.IndexClash(err, "name"):
		// A retried CreateEndpoint: the schema's unique index on the name
		// refuses the second port at commit. (A "wait" guard on the name
		// would do the same but costs the server a scan of every port in
		// NB, ovn-kubernetes' included: the index does not serve waits.)
		return false, c.rewritePort(ctx, p)
	default:
		return false, c.Failed(err, "create the logical port of endpoint "+short(p.EndpointID))
	}
}

// rewritePort rewrites an existing port of the same endpoint to the spec.
func (c *Client) rewritePort(ctx context.Context, p Port) error {
	have, err := c.portRow(ctx, p.Name)
	if err != nil {
		return err
	}
	if !ovs.Owned(have.ExternalIDs) || have.ExternalIDs[ovs.NetworkIDKey] != p.NetworkID {
		return usererr.Errorf(ovs.ErrConflict, "remove it with ovn-nbctl lsp-del if nothing else uses it",
			"logical port %s already exists in the %s and is not ovn-docker's port for network %s",
			p.Name, c.Name(), short(p.NetworkID))
	}
	ops, err := c.updatePort(have.UUID, p)
	if err != nil {
		return err
	}
	if _, err := c.TransactIdempotent(ctx, ops...); err != nil {
		return c.Failed(err, "update the logical port of endpoint "+short(p.EndpointID))
	}
	return nil
}

// BindPort binds an existing port to chassis (options:requested-chassis).
func (c *Client) BindPort(ctx context.Context, name, chassis string) error {
	have, err := c.portRow(ctx, name)
	if err != nil {
		return err
	}
	p := portFromRow(have)
	p.Chassis = chassis
	ops, err := c.updatePort(have.UUID, *p)
	if err != nil {
		return err
	}
	if _, err := c.TransactIdempotent(ctx, ops...); err != nil {
		return c.Failed(err, "bind logical port "+name+" to chassis "+chassis)
	}
	return nil
}

// Port returns the logical port named name.
func (c *Client) Port(ctx context.Context, name string) (*Port, error) {
	row, err := c.portRow(ctx, name)
	if err != nil {
		return nil, err
	}
	return portFromRow(row), nil
}

// portRow reads a port by name, through the schema's index on it.
func (c *Client) portRow(ctx context.Context, name string) (*nbdb.LogicalSwitchPort, error) {
	return conn.Get(ctx, c.Conn, &nbdb.LogicalSwitchPort{Name: name}, "logical port "+name, conn.NameIs(name))
}

// DeletePort removes a driver-owned port and its switch's reference to it.
// An absent port is success; a port without our mark is refused.
func (c *Client) DeletePort(ctx context.Context, name string) (deleted bool, err error) {
	have, err := c.portRow(ctx, name)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !ovs.Owned(have.ExternalIDs) {
		return false, usererr.Errorf(ovs.ErrConflict, "remove it with ovn-nbctl lsp-del if nothing else uses it",
			"logical port %s in the %s is not ovn-docker's, so it was left alone", name, c.Name())
	}
	acls, err := c.endpointACLs(ctx, have.ExternalIDs[ovs.EndpointIDKey])
	if err != nil {
		return false, err
	}
	return c.UnlinkAndDelete(ctx, nbdb.LogicalSwitchTable, nbdb.LogicalSwitchPortTable, have.UUID, "logical port "+name,
		dropACLOps(acls)...)
}

// Ports lists every driver-owned logical port, on any chassis, as the
// cache has them: the monitor follows exactly these rows, and reading them
// from the server instead decoded every host's ports anew on each
// reconcile pass and names sync, most of the daemon's memory and time at
// 10 000 endpoints (docs/benchmarks.md). The cache lags the server by
// moments only, and reconciliation acts on what looked so on every pass
// for the grace period, surveying again under the endpoint's lock.
func (c *Client) Ports(ctx context.Context) ([]*Port, error) {
	rows, err := conn.Shallow[*nbdb.LogicalSwitchPort](ctx, c.Conn, nbdb.LogicalSwitchPortTable)
	if err != nil {
		return nil, err
	}
	out := make([]*Port, 0, len(rows))
	for _, r := range rows {
		out = append(out, portFromRow(r))
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, ovs.ErrNotFound) }

// PortWithAddress returns a port of the shared switch s, other than the
// endpoint's own, that already holds ip (nil if none), as the cache has
// them: with Docker's own IPAM each host hands out addresses on its own,
// and two ports with one address would each lose half their packets.
func (c *Client) PortWithAddress(ctx context.Context, s *Switch, ip, endpointID string) (*Port, error) {
	nets := map[string]bool{}
	for _, r := range s.Refs {
		nets[r.NetworkID] = true
	}
	found, err := conn.Cached(ctx, c.Conn, "the logical ports of "+s.Name, func(p *nbdb.LogicalSwitchPort) bool {
		if !nets[p.ExternalIDs[ovs.NetworkIDKey]] || p.ExternalIDs[ovs.EndpointIDKey] == endpointID || len(p.Addresses) == 0 {
			return false
		}
		return slices.Contains(strings.Fields(p.Addresses[0])[1:], ip)
	})
	if err != nil || len(found) == 0 {
		return nil, err
	}
	return portFromRow(found[0]), nil
}
