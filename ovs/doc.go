// Package ovs holds what every OVSDB package of ovn-docker shares: the
// ownership marks set on every row the driver creates, and the errors
// callers test for. The OVSDB work itself is in its subpackages:
//
//   - ovs/conn: one database connection (background connect and
//     reconnect, Raft leader, TLS, echo probe, deadlines, idempotent
//     retry, the sentences users see when a database fails);
//   - ovs/nb: the Northbound database as Docker's networks and endpoints
//     see it, one file per table, each with typed builders that return
//     operations for one checked transaction per action;
//   - ovs/local: this host's Open_vSwitch database (bridge, interfaces);
//   - ovs/nbdb, ovs/vswitchd: models generated from the oldest schemas
//     supported (OVN 23.03, OVS 3.1).
//
// IPAM's rows live in ipam/store, on the Northbound connection.
//
// Contract of all of them:
//   - every write is one transaction whose results are checked; guards that
//     matter across daemons (a row already there, a row gone) are OVSDB
//     "wait" operations the server evaluates, never cache reads;
//   - every row created carries Mark's keys, and only rows carrying them are
//     changed or deleted;
//   - "Ensure" calls succeed when the wanted row already exists, "Delete"
//     calls when it is already gone, so callers may retry freely;
//   - reads come from the monitor cache, which holds only our own rows, by
//     index where there is one, and fall back to the server when the cache
//     has not seen a row yet.
package ovs

import (
	"errors"
	"maps"
)

// Ownership marks written to external_ids of every row the driver creates.
const (
	OwnerKey      = "docker:owner"
	OwnerValue    = "ovn-docker"
	NetworkIDKey  = "docker:network-id"
	EndpointIDKey = "docker:endpoint-id"
)

// Mark returns ids (copied) with the owner mark set: the one place rows
// get it.
func Mark(ids map[string]string) map[string]string {
	out := maps.Clone(ids)
	if out == nil {
		out = map[string]string{}
	}
	out[OwnerKey] = OwnerValue
	return out
}

// Owned reports whether external_ids carry the owner mark: the one place
// rows are judged ours.
func Owned(ids map[string]string) bool { return ids[OwnerKey] == OwnerValue }

// Errors callers may test for with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("already exists and belongs to something else")
	ErrUnavailable  = errors.New("database unavailable")
	ErrStale        = errors.New("changed since it was read")
	ErrTaken        = errors.New("already claimed")
	ErrNotInstalled = errors.New("not yet installed by ovn-controller")
)
