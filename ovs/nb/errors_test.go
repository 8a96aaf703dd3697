package nb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/client"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
)

// Every error the database clients write, triggered against a real
// ovsdb-server and held to docs/errors.md by the shared checker. The
// driver and the IPAM driver pass them to Docker unchanged.

func TestUnavailableErrorsReadOnce(t *testing.T) {
	s := startServer(t)
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.nb(t).EnsureSwitch(ctx, testSwitch())
	if !errors.Is(err, ovs.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("kind or cause lost: %v", err)
	}
	usererrtest.Check(t, err, "OVN northbound database at unix:"+s.Sock)
	usererrtest.Check(t, err, "--nb")
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = s.ovs(t).SystemID(ctx)
	usererrtest.Check(t, err, "local Open vSwitch database at unix:"+s.Sock)
	usererrtest.Check(t, err, "--ovs")
}

func TestNBErrorsReadOnce(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	ctx := testCtx(t)
	t.Run("foreign switch", func(t *testing.T) {
		s.nbctl("ls-add", "docker-f783e94b14db")
		defer s.nbctl("ls-del", "docker-f783e94b14db")
		_, err := c.EnsureSwitch(ctx, testSwitch())
		if !errors.Is(err, ovs.ErrConflict) {
			t.Errorf("not ovs.ErrConflict: %v", err)
		}
		usererrtest.Check(t, err, "docker-f783e94b14db")
	})
	if _, err := c.EnsureSwitch(ctx, testSwitch()); err != nil {
		t.Fatal(err)
	}
	s.nbctl("ls-add", "other", "--", "lsp-add", "other", "theirs")
	t.Run("foreign port", func(t *testing.T) {
		_, err := c.EnsurePort(ctx, mustSwitch(t, c), testPort("theirs"))
		if !errors.Is(err, ovs.ErrConflict) {
			t.Errorf("not ovs.ErrConflict: %v", err)
		}
		usererrtest.Check(t, err, "logical port theirs")
	})
	t.Run("delete foreign port", func(t *testing.T) {
		_, err := c.DeletePort(ctx, "theirs")
		usererrtest.Check(t, err, "logical port theirs")
	})
	t.Run("row gone", func(t *testing.T) {
		_, err := c.Port(ctx, "nothere")
		if !errors.Is(err, ovs.ErrNotFound) {
			t.Errorf("not ovs.ErrNotFound: %v", err)
		}
		usererrtest.Check(t, err, "nothere")
	})
}

// failed words what a transaction meant to do; a bare reason never
// reaches a user.
func TestFailedTransactionsReadOnce(t *testing.T) {
	s := startServer(t)
	c := s.nb(t)
	refused := &conn.OpError{Index: 2, Kind: "constraint violation", Details: "the switch is in use"}
	err := c.Failed(refused, "create logical switch docker-f783e94b14db")
	usererrtest.Check(t, err, "create logical switch docker-f783e94b14db")
	err = c.Failed(errors.New("2 operations sent but 1 results received"), "delete logical port ep1")
	usererrtest.Check(t, err, "delete logical port ep1")
	if again := c.Failed(err, "other"); again != err {
		t.Errorf("a sentence was wrapped again: %v", again)
	}
	// A connection libovsdb reports down: said with its reason.
	err = c.Unavailable(client.ErrNotConnected)
	if !errors.Is(err, ovs.ErrUnavailable) || !errors.Is(err, client.ErrNotConnected) {
		t.Errorf("kind or cause lost: %v", err)
	}
	usererrtest.Check(t, err, s.Sock)
}
