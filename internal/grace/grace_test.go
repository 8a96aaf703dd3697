package grace

import (
	"slices"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	tr := New(10 * time.Second)
	t0 := time.Unix(1000, 0)
	if got := tr.Observe([]string{"a", "b"}, t0); len(got) != 0 {
		t.Fatalf("first sight expired %v", got)
	}
	if got := tr.Observe([]string{"a", "b"}, t0.Add(5*time.Second)); len(got) != 0 {
		t.Fatalf("within grace %v", got)
	}
	// b stops looking orphaned for one pass: its clock restarts.
	if got := tr.Observe([]string{"a"}, t0.Add(10*time.Second)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after grace %v", got)
	}
	if got := tr.Observe([]string{"a", "b"}, t0.Add(15*time.Second)); len(got) != 0 {
		t.Fatalf("b reset, a forgotten after expiry: %v", got)
	}
	if got := tr.Observe([]string{"a", "b"}, t0.Add(25*time.Second)); !slices.Equal(sorted(got), []string{"a", "b"}) {
		t.Fatalf("%v", got)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }
