package ovs

import (
	"context"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
	"github.com/ovn-docker/ovn-docker/ovs/vswitchd"
)

// OVS is the driver's handle on this host's Open_vSwitch database.
type OVS struct{ *conn }

// Bridge is what the driver needs to know of the integration bridge.
type Bridge struct {
	Name         string
	DatapathType string // "netdev" for the userspace datapath; "" or "system" for the kernel's
}

// Userspace reports whether packets go through the userspace datapath,
// which needs TX checksum offload off on veths.
func (b Bridge) Userspace() bool { return b.DatapathType == "netdev" }

func ovsModel() (model.ClientDBModel, error) {
	return model.NewClientDBModel("Open_vSwitch", map[string]model.Model{
		vswitchd.OpenvSwitchTable: &vswitchd.OpenvSwitch{},
		vswitchd.BridgeTable:      &vswitchd.Bridge{},
		vswitchd.PortTable:        &vswitchd.Port{},
		vswitchd.InterfaceTable:   &vswitchd.Interface{},
	})
}

// NewOVS prepares a client of the local Open_vSwitch database; call Run.
func NewOVS(cfg ConnConfig) (*OVS, error) {
	m, err := ovsModel()
	if err != nil {
		return nil, err
	}
	o, br, p, i := &vswitchd.OpenvSwitch{}, &vswitchd.Bridge{}, &vswitchd.Port{}, &vswitchd.Interface{}
	c, err := newConn("local Open vSwitch database", "--ovs", m, cfg,
		client.WithTable(o, &o.ExternalIDs, &o.Bridges),
		client.WithTable(br, &br.Name, &br.DatapathType, &br.Ports),
		client.WithTable(p, &p.Name, &p.Interfaces, &p.ExternalIDs),
		client.WithTable(i, &i.Name, &i.Type, &i.ExternalIDs, &i.Ofport, &i.Error),
	)
	if err != nil {
		return nil, err
	}
	return &OVS{c}, nil
}

// Run connects in the background until ctx ends.
func (o *OVS) Run(ctx context.Context) { go o.run(ctx) }

// Close drops the connection.
func (o *OVS) Close() { o.client.Close() }

// SystemID is this chassis' name in OVN (external_ids:system-id).
func (o *OVS) SystemID(ctx context.Context) (string, error) {
	rows, err := o.root(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		if id := r.ExternalIDs["system-id"]; id != "" {
			return id, nil
		}
	}
	return "", usererr.Errorf(ErrNotFound,
		"set up ovn-controller on this host (ovs-vsctl set Open_vSwitch . external_ids:system-id=<name>)",
		"the %s at %s has no external_ids:system-id, so this host is not an OVN chassis", o.name, o.endpoints())
}

// EncapIP is the tunnel endpoint address ovn-controller uses (may be empty).
func (o *OVS) EncapIP(ctx context.Context) (string, error) {
	rows, err := o.root(ctx)
	if err != nil || len(rows) == 0 {
		return "", err
	}
	return rows[0].ExternalIDs["ovn-encap-ip"], nil
}

// Bridge describes the named bridge, or fails with ErrNotFound.
func (o *OVS) Bridge(ctx context.Context, name string) (*Bridge, error) {
	rows, err := lookup(ctx, o.conn, vswitchd.BridgeTable,
		func(b *vswitchd.Bridge) bool { return b.Name == name }, nameIs(name))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, o.notFound("bridge " + name)
	}
	return &Bridge{Name: rows[0].Name, DatapathType: rows[0].DatapathType}, nil
}

func (o *OVS) root(ctx context.Context) ([]*vswitchd.OpenvSwitch, error) {
	return lookup(ctx, o.conn, vswitchd.OpenvSwitchTable, func(*vswitchd.OpenvSwitch) bool { return true })
}
