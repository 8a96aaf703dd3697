package conn

import (
	"maps"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// Guards and bulk conditions are built here as plain OVSDB conditions, not
// with libovsdb's model API: its Where/WhereAll turn conditions that match
// rows in its cache into conditions on those rows' UUIDs. That is right
// for changing a row we know, and wrong for two things. A guard must be
// judged by the server's rows, not by a cache that may lag (a block of
// addresses whose claim was just released would look taken). A delete of
// "every row carrying mark M" must reach rows the cache has not seen yet
// (a block another daemon made a moment ago), or they would be left behind.

// Every selects every row. A wait needs a condition: libovsdb leaves an
// empty "where" out of the request, which ovsdb-server then refuses.
func Every() ovsdb.Condition {
	return ovsdb.NewCondition("_uuid", ovsdb.ConditionNotEqual, ovsdb.UUID{GoUUID: "00000000-0000-0000-0000-000000000000"})
}

// NameIs selects rows by their name column.
func NameIs(name string) ovsdb.Condition {
	return ovsdb.NewCondition("name", ovsdb.ConditionEqual, name)
}

// UUIDIs selects one row by its UUID.
func UUIDIs(uuid string) ovsdb.Condition {
	return ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: uuid})
}

// Includes selects rows whose map column holds every key and value of m.
func Includes(column string, m map[string]string) ovsdb.Condition {
	return ovsdb.NewCondition(column, ovsdb.ConditionIncludes, StrMap(m))
}

// SetIncludes selects rows whose set column holds every value of vs.
func SetIncludes(column string, vs ...string) ovsdb.Condition {
	return ovsdb.NewCondition(column, ovsdb.ConditionIncludes, StrSet(vs))
}

// Named is a guard that makes the server fail the whole transaction at
// once unless exactly one row named name (and matching extra) exists
// (present=true), or none does (present=false). This is what keeps two
// daemons from both creating the same row: the server decides. (libovsdb
// drops an empty "rows" list when encoding, so the guard compares against
// the one row it expects rather than against no rows.)
func Named(table string, present bool, name string, extra ...ovsdb.Condition) ovsdb.Operation {
	until := ovsdb.WaitConditionEqual
	if !present {
		until = ovsdb.WaitConditionNotEqual
	}
	return Wait(table, until, []ovsdb.Condition{NameIs(name)}, ovsdb.Row{"name": name}, extra...)
}

// Wait is the general guard: with timeout 0, the transaction fails at once
// unless the rows where selects, projected on row's columns, are exactly
// [row] (until ==) or are not (until !=).
func Wait(table string, until ovsdb.WaitCondition, where []ovsdb.Condition, row ovsdb.Row, extra ...ovsdb.Condition) ovsdb.Operation {
	zero := 0
	cols := make([]string, 0, len(row))
	for c := range row {
		cols = append(cols, c)
	}
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: table, Timeout: &zero, Until: string(until),
		Where: append(append([]ovsdb.Condition{}, where...), extra...), Columns: cols, Rows: []ovsdb.Row{row},
	}
}

// DeleteWhere deletes every row where selects, on the server.
func DeleteWhere(table string, where ...ovsdb.Condition) ovsdb.Operation {
	return ovsdb.Operation{Op: ovsdb.OperationDelete, Table: table, Where: where}
}

// StrMap encodes a string map for a condition or row.
func StrMap(m map[string]string) ovsdb.OvsMap {
	om := ovsdb.OvsMap{GoMap: make(map[any]any, len(m))}
	for k, v := range maps.All(m) {
		om.GoMap[k] = v
	}
	return om
}

// StrSet encodes a string set for a condition or row.
func StrSet(ss []string) ovsdb.OvsSet {
	s := ovsdb.OvsSet{GoSet: make([]any, 0, len(ss))}
	for _, v := range ss {
		s.GoSet = append(s.GoSet, v)
	}
	return s
}
