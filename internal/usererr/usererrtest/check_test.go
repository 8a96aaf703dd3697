package usererrtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// The texts the checker was written against: each must be refused, for
// the reason given.
func TestRefusesWhatUsersUsedToSee(t *testing.T) {
	errOverlap := errors.New("overlaps an allocated pool")
	errAllocated := errors.New("already in use")
	for _, tc := range []struct {
		err    error
		object string
		reason string
	}{
		{fmt.Errorf("pool 10.63.0.0/25 overlaps pool 10.63.0.0/24, already allocated in address space ovnlocal: %w", errOverlap),
			"10.63.0.0/25", "appends the text of a wrapped error"},
		{fmt.Errorf("address 10.60.0.50 is already in use in pool 10.60.0.0/24: %w", errAllocated),
			"10.60.0.50", "repeats the text of a wrapped error"},
		{errors.New("create logical switch docker-x: transaction on the OVN northbound database: operation 2 failed: constraint violation"),
			"docker-x", "raw library text"},
		{errors.New("delete logical port of endpoint 0ba3fc4a3da1: delete logical port of endpoint 0ba3fc4a3da1"),
			"0ba3fc4a3da1", "twice"},
		{errors.New("pool 10.0.0.0/29 has no free addresses"), "10.0.0.0/29", "says nothing about what to do"},
		{errors.New("pool 10.0.0.0/29 has no free addresses; sorry"), "10.0.0.0/29", "does not start with an action"},
		{errors.New("Pool 10.0.0.0/29 is full; try again"), "10.0.0.0/29", "capital"},
		{errors.New("pool 10.0.0.0/29 is full. Try again"), "10.0.0.0/29", "more than one sentence"},
		{errors.New("pool 10.0.0.0/29 is full; try again"), "10.1.0.0/29", "does not name"},
		{errors.New("the moon is made of cheese; try again"), "moon", "matches no row"},
	} {
		got := strings.Join(Problems(tc.err, tc.object), "\n")
		if !strings.Contains(got, tc.reason) {
			t.Errorf("%q: problems %q, want one saying %q", tc.err, got, tc.reason)
		}
	}
}

func TestAcceptsAGoodSentence(t *testing.T) {
	err := usererr.Errorf(errors.New("already in use"), "choose another --ip",
		"address %s is already in use in pool %s", "10.60.0.50", "10.60.0.0/24")
	if p := Problems(err, "10.60.0.50"); len(p) != 0 {
		t.Fatalf("problems: %v", p)
	}
}

func TestCatalogPatterns(t *testing.T) {
	rows, err := Catalog()
	if err != nil || len(rows) < 50 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	p := Pattern(`<kind> ID "<id>" is not valid; give <x>`)
	if !p.MatchString(`endpoint ID "" is not valid; give a.b`) {
		t.Fatalf("pattern %s", p)
	}
	if p.MatchString(`xendpoint ID "" is valid; give a`) {
		t.Fatalf("pattern %s matches too much", p)
	}
}
