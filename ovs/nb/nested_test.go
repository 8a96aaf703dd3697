package nb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// A nested port names its parent, asks northd for any tag and requests
// no chassis; WaitTag returns the tag once northd (here: by hand) writes
// it, and says so by name when it never comes.
func TestNestedPortTag(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	ctx := testCtx(t)
	if _, err := c.EnsureSwitch(ctx, testSwitch()); err != nil {
		t.Fatal(err)
	}
	p := testPort("ep1")
	p.Chassis, p.Parent = "", "vm1"
	if _, err := c.EnsurePort(ctx, mustSwitch(t, c), p); err != nil {
		t.Fatal(err)
	}
	if got := s.nbctl("get", "Logical_Switch_Port", "ep1", "parent_name", "tag_request", "options"); got != "vm1\n0\n{}" {
		t.Fatalf("nested port: %q", got)
	}
	_, err := c.WaitTag(ctx, "ep1", 100*time.Millisecond)
	if !errors.Is(err, nb.ErrNoTag) {
		t.Fatalf("no northd: %v", err)
	}
	usererrtest.Check(t, err, "logical port ep1")
	type result struct {
		tag int
		err error
	}
	done := make(chan result, 1)
	go func() { // waiting, most likely, when northd's tag comes
		tag, err := c.WaitTag(ctx, "ep1", 10*time.Second)
		done <- result{tag, err}
	}()
	s.nbctl("set", "Logical_Switch_Port", "ep1", "tag=42")
	if r := <-done; r.err != nil || r.tag != 42 {
		t.Fatalf("tag %d %v", r.tag, r.err)
	}
	if got, err := c.Port(ctx, "ep1"); err != nil || got.Parent != "vm1" || got.Tag != 42 {
		t.Fatalf("read back %+v %v", got, err)
	}
}
