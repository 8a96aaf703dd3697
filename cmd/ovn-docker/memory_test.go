package main

import (
	"runtime/debug"
	"testing"
)

func TestStartupGCLeavesAnOperatorsGOGCAlone(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	restore := startupGC(func(k string) (string, bool) { return "200", k == "GOGC" })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC set by the operator, yet the percent became %d", got)
	}
	restore()

	restore = startupGC(func(string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(startupGCPercent); got != startupGCPercent {
		t.Fatalf("startup percent %d, want %d", got, startupGCPercent)
	}
	restore()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("after the first pass the percent is %d, want 100 back", got)
	}
}
