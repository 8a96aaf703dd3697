package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

// Both engines' recorded port maps parse to what -p asked for.
func TestParsePublishRecordedPortMaps(t *testing.T) {
	for _, dir := range []string{"docker-20.10", "moby-v2.0.0-beta.24"} {
		b, err := os.ReadFile("../testdata/" + dir + "/NetworkDriver.CreateEndpoint.ports.json")
		if err != nil {
			t.Fatal(err)
		}
		var req network.ProgramExternalConnectivityRequest
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatal(err)
		}
		cfg, err := ParsePublish(&req)
		if err != nil || fmt.Sprintf("%+v", cfg.Bindings) != "[{Proto:tcp Port:80 HostPort:8080 HostPortEnd:8080 HostIP:invalid IP}]" {
			t.Fatalf("%s: %+v %v", dir, cfg.Bindings, err)
		}
	}
}

func publishReq(pm any) *network.ProgramExternalConnectivityRequest {
	return &network.ProgramExternalConnectivityRequest{NetworkID: nid, EndpointID: eid, Options: map[string]any{optPortMap: pm}}
}

func binding(fields string) any {
	var v any
	if err := json.Unmarshal([]byte("["+fields+"]"), &v); err != nil {
		panic(err)
	}
	return v
}

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"Proto":17,"Port":53,"HostIP":"","HostPort":0,"HostPortEnd":0}`, "[{Proto:udp Port:53 HostPort:0 HostPortEnd:0 HostIP:invalid IP}]"},
		{`{"Proto":132,"Port":9,"HostIP":"0.0.0.0","HostPort":9000,"HostPortEnd":9010}`, "[{Proto:sctp Port:9 HostPort:9000 HostPortEnd:9010 HostIP:invalid IP}]"},
		{`{"Proto":6,"Port":80,"HostIP":"::ffff:172.30.0.16","HostPort":80}`, "[{Proto:tcp Port:80 HostPort:80 HostPortEnd:80 HostIP:172.30.0.16}]"},
	} {
		cfg, err := ParsePublish(publishReq(binding(tc.in)))
		if err != nil || fmt.Sprintf("%+v", cfg.Bindings) != tc.want {
			t.Errorf("%s: %+v %v", tc.in, cfg.Bindings, err)
		}
	}
	for _, tc := range []struct{ in, object string }{
		{`{"Proto":1,"Port":80}`, "port 80"},
		{`{"Proto":6,"Port":0,"HostPort":80}`, "port binding 0/tcp"},
		{`{"Proto":6,"Port":80,"HostPort":90,"HostPortEnd":85}`, "port 80/tcp"},
		{`{"Proto":6,"Port":80,"HostPort":0,"HostPortEnd":85}`, "port 80/tcp"},
		{`{"Proto":6,"Port":80,"HostIP":"localhost"}`, "port 80/tcp"},
		{`{"Proto":6,"Port":70000}`, "the port map"},
		{`"80:80"`, "the port map"},
	} {
		_, err := ParsePublish(publishReq(binding(tc.in)))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		usererrtest.Check(t, err, tc.object)
	}
}

// Published on a routed network, gone with the endpoint when Revoke never
// came (the plugin was down when the container stopped).
func TestPublishedPortsGoWithTheEndpoint(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	err := r.d.CreateNetwork(ctx, netReqID(nid, map[string]any{OptRouter: "r1"}, &network.IPAMData{Pool: "10.77.0.0/24", Gateway: "10.77.0.1/24"}))
	if err != nil {
		t.Fatal(err)
	}
	r.endpoint(t, "02:42:0a:4d:00:03")
	for range 2 {
		if err := r.d.ProgramExternalConnectivity(ctx, publishReq(binding(`{"Proto":6,"Port":80,"HostPort":8080}`))); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(r.nb.published[eid]); got != "[192.0.2.1:8080/tcp -> 10.77.0.3:80]" {
		t.Fatalf("published %s", got)
	}
	if err := r.d.DeleteEndpoint(ctx, &network.DeleteEndpointRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
	if len(r.nb.published) != 0 {
		t.Fatalf("left published: %v", r.nb.published)
	}
}

// Docker calls it only for routed networks; anything else is refused
// by name rather than ignored.
func TestPublishOnANetworkWithoutRouter(t *testing.T) {
	r := newRig(t)
	r.network(t)
	r.endpoint(t, "02:42:0a:4d:00:03")
	err := r.d.ProgramExternalConnectivity(context.Background(), publishReq(binding(`{"Proto":6,"Port":80,"HostPort":8080}`)))
	usererrtest.Check(t, err, "network "+nid[:12])
	// No -p: nothing to do, and nothing refused.
	if err := r.d.ProgramExternalConnectivity(context.Background(), publishReq(nil)); err != nil {
		t.Fatal(err)
	}
	if err := r.d.RevokeExternalConnectivity(context.Background(), &network.RevokeExternalConnectivityRequest{NetworkID: nid, EndpointID: eid}); err != nil {
		t.Fatal(err)
	}
}
