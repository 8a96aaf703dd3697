// Package ovs is the only package that speaks OVSDB. It talks to the OVN
// Northbound database (logical switches and ports) and to the local
// Open_vSwitch database (the integration bridge and its interfaces) through
// libovsdb, with typed models generated from the oldest schemas we support.
//
// Contract:
//   - every write is one transaction whose results are checked; guards that
//     matter across daemons (a switch or port already there, a bridge missing)
//     are OVSDB "wait" operations evaluated by the server, never cache reads;
//   - every row it creates carries ownership in external_ids (OwnerKey), and it
//     deletes only rows carrying that mark;
//   - "Ensure" calls succeed when the wanted row already exists, "Delete" calls
//     succeed when it is already gone, so callers may retry freely;
//   - reads come from the monitor cache and fall back to the server when the
//     cache has not seen a row yet.
package ovs

// Ownership marks written to external_ids of every row this driver creates.
const (
	OwnerKey      = "docker:owner"
	OwnerValue    = "ovn-docker"
	NetworkIDKey  = "docker:network-id"
	EndpointIDKey = "docker:endpoint-id"
)
