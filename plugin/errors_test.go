package plugin

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/internal/usererr/usererrtest"
)

// brokenBody fails mid-read, as a client that goes away does.
type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// The plugin's own errors, about requests it cannot decode, held to
// docs/errors.md by the shared checker; the HTTP reply carries the same
// text.
func TestDecodeErrorsReadOnce(t *testing.T) {
	c := serve(t, &recorder{})
	for _, tc := range []struct {
		name string
		body io.Reader
		raw  []byte
	}{
		{"truncated", nil, []byte(`{"NetworkID":`)},
		{"wrong type", nil, []byte(`{"NetworkID":5}`)},
		{"too big", nil, bytes.Repeat([]byte(" "), MaxBodyBytes+1)},
		{"broken", brokenBody{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == nil {
				body = bytes.NewReader(tc.raw)
			}
			r := httptest.NewRequest("POST", "/NetworkDriver.CreateNetwork", body)
			err := decode(httptest.NewRecorder(), r, &network.CreateNetworkRequest{})
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("not ErrBadRequest: %v", err)
			}
			usererrtest.Check(t, err, "/NetworkDriver.CreateNetwork")
			if tc.raw == nil {
				return
			}
			if _, out := post(t, c, "/NetworkDriver.CreateNetwork", tc.raw); out["Err"] != err.Error() {
				t.Errorf("the reply says %q", out["Err"])
			}
		})
	}
}

func TestUnknownCallReadsOnce(t *testing.T) {
	status, out := post(t, serve(t, &recorder{}), "/NetworkDriver.Nope", []byte("{}"))
	if status != 404 {
		t.Errorf("status %d", status)
	}
	text, _ := out["Err"].(string)
	usererrtest.Check(t, errors.New(text), "/NetworkDriver.Nope")
}
