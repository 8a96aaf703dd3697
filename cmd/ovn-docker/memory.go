package main

import "runtime/debug"

// startupGCPercent is the collector's target until the first reconcile
// pass: the NB's first monitor reply is decoded whole, so at its height
// the live heap is half again its size once decoded (10 000 endpoints: 47
// MB, then 29), and at Go's default GOGC=100 the heap may grow to twice
// that before a collection (RSS 107–119 MiB at that moment). Collecting at
// +25 % costs some CPU in the first seconds only.
const startupGCPercent = 25

// startupGC sets startupGCPercent unless the operator set GOGC, and
// returns what puts the previous setting back.
func startupGC(lookup func(string) (string, bool)) (restore func()) {
	if _, set := lookup("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(startupGCPercent)
	return func() { debug.SetGCPercent(old) }
}
