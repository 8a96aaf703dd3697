package dockerapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// serve answers GET requests on a Unix socket the way an engine would.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + path
}

const twoNetworks = `[
 {"Name":"x","Id":"4c1a7d9e2b3f","Driver":"openvswitch","Scope":"local",
  "IPAM":{"Driver":"openvswitch","Config":[{"Subnet":"10.240.0.0/24","Gateway":"10.240.0.1"},{"Subnet":"fd00:1::/64"}]}},
 {"Name":"bridge","Id":"9f00aa","Driver":"bridge","Scope":"local","IPAM":{"Driver":"default","Config":null}}
]`

func TestNetworks(t *testing.T) {
	var asked []string
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.Path)
		w.Write([]byte(twoNetworks))
	})
	c, err := New(addr)
	if err != nil {
		t.Fatal(err)
	}
	nets, err := c.Networks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(nets) != 2 || nets[0].ID != "4c1a7d9e2b3f" || nets[0].IPAMDriver != "openvswitch" ||
		len(nets[0].Subnets) != 2 || nets[0].Subnets[1].String() != "fd00:1::/64" || nets[1].Driver != "bridge" {
		t.Fatalf("%+v", nets)
	}
	if !Known(nets)["9f00aa"] || Known(nets)["nope"] {
		t.Fatal("Known")
	}
	if len(asked) != 1 || asked[0] != "GET /networks" {
		t.Fatalf("asked %v; the client must only read", asked)
	}
}

func TestErrorsNameTheEngine(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"message":"boom"}`))
	})
	c, _ := New(addr)
	_, err := c.Networks(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("%v", err)
	}
	gone, _ := New("unix:///nonexistent/docker.sock")
	if err := gone.Ping(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("%v", err)
	}
}

func TestNewRefusesOtherAddresses(t *testing.T) {
	for _, a := range []string{"", "tcp://127.0.0.1:2375", "unix://relative.sock", "/var/run/docker.sock"} {
		if _, err := New(a); err == nil {
			t.Errorf("%q accepted", a)
		}
	}
}

func TestDecodeNetworksRefusesBadLists(t *testing.T) {
	for _, body := range []string{`{}`, `[{"Id":""}]`, `[{"Id":"../x"}]`, `not json`} {
		if _, err := DecodeNetworks([]byte(body)); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}

func FuzzDecodeNetworks(f *testing.F) {
	f.Add([]byte(twoNetworks))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"Id":"a","IPAM":{"Config":[{"Subnet":"::/0"}]}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		nets, err := DecodeNetworks(body)
		if err != nil {
			return
		}
		for _, n := range nets {
			if !idPattern.MatchString(n.ID) {
				t.Fatalf("bad ID %q passed", n.ID)
			}
			for _, p := range n.Subnets {
				if !p.IsValid() || p != p.Masked() {
					t.Fatalf("bad subnet %v", p)
				}
			}
		}
	})
}
