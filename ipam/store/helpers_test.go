package store_test

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
	"github.com/ovn-docker/ovn-docker/ipam/store"
	"github.com/ovn-docker/ovn-docker/ovs/conn"
	"github.com/ovn-docker/ovn-docker/ovs/local"
	"github.com/ovn-docker/ovn-docker/ovs/nb"
)

// testServer wraps the shared harness with clients of the packages.
type testServer struct{ *ovsdbtest.Server }

func startServer(t testing.TB) *testServer { return &testServer{ovsdbtest.Start(t)} }

func (s *testServer) nbctl(a ...string) string { return s.Nbctl(a...) }
func (s *testServer) vsctl(a ...string) string { return s.Vsctl(a...) }
func (s *testServer) start()                   { s.Start() }
func (s *testServer) stop()                    { s.Stop() }

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.WarnLevel)
	return l
}

func (s *testServer) nb(t testing.TB) *nb.Client {
	t.Helper()
	c, err := nb.New(conn.Config{Endpoints: []string{s.Endpoint()}, LeaderOnly: true, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); c.Close() })
	c.Run(ctx)
	return c
}

func (s *testServer) ovs(t testing.TB) *local.Client {
	t.Helper()
	o, err := local.New(conn.Config{Endpoints: []string{s.Endpoint()}, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); o.Close() })
	o.Run(ctx)
	return o
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// withPool starts a server and stores an ovnlocal pool of subnet in it.
func withPool(t testing.TB, subnet string) (*testServer, *store.Store, context.Context, store.Pool) {
	t.Helper()
	s := startServer(t)
	db := store.New(s.nb(t))
	ctx := testCtx(t)
	pfx := netip.MustParsePrefix(subnet)
	pool := store.Pool{Name: store.RowName("ovnlocal", pfx), Space: "ovnlocal", Subnet: pfx}
	if err := db.CreatePool(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	return s, db, ctx, pool
}
