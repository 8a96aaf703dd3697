package ovs

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// testServer wraps the shared harness with this package's clients.
type testServer struct{ *ovsdbtest.Server }

func startServer(t *testing.T) *testServer { return &testServer{ovsdbtest.Start(t)} }

func startTB(t testing.TB) *ovsdbtest.Server { return ovsdbtest.Start(t) }

func (s *testServer) endpoint() string         { return s.Endpoint() }
func (s *testServer) nbctl(a ...string) string { return s.Nbctl(a...) }
func (s *testServer) vsctl(a ...string) string { return s.Vsctl(a...) }
func (s *testServer) start()                   { s.Start() }
func (s *testServer) stop()                    { s.Stop() }

func run(t *testing.T, bin string, args ...string) string { return ovsdbtest.Run(t, bin, args...) }

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.WarnLevel)
	return l
}

func (s *testServer) nb(t *testing.T) *NB { return s.nbTB(t) }

func (s *testServer) nbTB(t testing.TB) *NB {
	t.Helper()
	nb, err := NewNB(ConnConfig{Endpoints: []string{s.endpoint()}, LeaderOnly: true, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); nb.Close() })
	nb.Run(ctx)
	return nb
}

func (s *testServer) ovs(t *testing.T) *OVS {
	t.Helper()
	o, err := NewOVS(ConnConfig{Endpoints: []string{s.endpoint()}, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); o.Close() })
	o.Run(ctx)
	return o
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
