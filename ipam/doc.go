// Package ipam implements Docker's remote IpamDriver semantics with pools
// and claims kept in the OVN Northbound database, so every host of one OVN
// shares one allocation and a restart loses nothing.
//
// Contract: the address maths (pools, blocks, the next free address, free
// subnets) are pure functions with no I/O; Manager drives them against a
// Store, which the ovs package implements on NB and tests fake. A claim is
// granted only by the Store's atomic transaction, never by a cache read, so
// two daemons can never hand out one address. Errors are one sentence for
// the docker CLI each (docs/errors.md), matching sentinels (ErrFull,
// ErrAllocated, ...) with errors.Is without repeating their text.
package ipam
