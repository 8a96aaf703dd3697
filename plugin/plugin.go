// Package plugin serves Docker's plugin protocol on one Unix socket for both
// roles, NetworkDriver and IpamDriver: go-plugins-helpers' network and ipam
// handlers each want a socket of their own, and a managed plugin has one.
//
// Contract: every request body is size-limited and decoded into the wire
// type before anything acts; every call runs under a deadline; this is the
// one place where Go errors become {"Err": "..."}; unknown paths answer 404.
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"time"

	"github.com/docker/go-plugins-helpers/sdk"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// Manifest is the /Plugin.Activate answer.
const Manifest = `{"Implements": ["NetworkDriver", "IpamDriver"]}`

// MaxBodyBytes bounds a request body; Docker's largest are a few KiB.
const MaxBodyBytes = 1 << 20

// Config holds the server's settings.
type Config struct {
	// CallTimeout bounds each call's waits for OVN (Join's wait for
	// ovn-controller has its own bound in the driver).
	CallTimeout time.Duration
	Log         logrus.FieldLogger
}

// Server is the plugin's HTTP side. It keeps its own mux and http.Server
// rather than sdk.Handler, which hides both, so that Shutdown can let calls
// in flight finish.
type Server struct {
	h   *http.ServeMux
	hs  *http.Server
	cfg Config
}

// New builds the server and registers every call of both roles.
func New(nd NetworkDriver, im IPAM, cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	s := &Server{h: http.NewServeMux(), cfg: cfg}
	s.hs = &http.Server{Handler: s.h}
	s.h.HandleFunc("/Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
		fmt.Fprintln(w, Manifest)
	})
	s.h.HandleFunc("/", s.unknown)
	s.networkRoutes(nd)
	s.ipamRoutes(im)
	return s
}

// Serve answers requests on l until l is closed or Shutdown is called
// (then it returns http.ErrServerClosed).
func (s *Server) Serve(l net.Listener) error { return s.hs.Serve(l) }

// Shutdown closes the listener, then waits until the calls in flight have
// answered or ctx ends; then it closes the connections still open.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.hs.Shutdown(ctx)
	if err != nil {
		s.hs.Close()
	}
	return err
}

func (s *Server) unknown(w http.ResponseWriter, r *http.Request) {
	s.cfg.Log.WithField("path", r.URL.Path).Warn("unknown plugin call")
	writeJSON(w, http.StatusNotFound, errorResponse{Err: fmt.Sprintf(
		"unknown call %s; check that this plugin's version supports the Docker engine that calls it", r.URL.Path)})
}

type errorResponse struct {
	Err string
}

// ErrBadRequest marks bodies that are not the JSON the call takes.
var ErrBadRequest = errors.New("bad request")

// notDocker is the advice for what only a broken caller sends: Docker
// itself never does.
const notDocker = "only a Docker engine should call this plugin"

// handle registers a call whose body decodes into Req.
func handle[Req any, Resp any](s *Server, path string, fn func(context.Context, *Req) (Resp, error)) {
	s.h.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req := new(Req)
		status, resp, err := http.StatusOK, any(nil), decode(w, r, req)
		if err != nil {
			status = http.StatusBadRequest
		} else {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CallTimeout)
			resp, err = fn(ctx, req)
			cancel()
			if err != nil {
				status = http.StatusInternalServerError
			}
		}
		s.logCall(path, req, time.Since(start), err)
		if err != nil {
			writeJSON(w, status, errorResponse{Err: err.Error()})
			return
		}
		writeJSON(w, status, resp)
	})
}

// decode reads the JSON body into req. An empty body or "null" leaves req
// zero: Docker sends no body with calls that take no arguments.
func decode(w http.ResponseWriter, r *http.Request, req any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return usererr.Errorf(ErrBadRequest, notDocker, "the request body for %s is over the %d-byte limit", r.URL.Path, MaxBodyBytes)
		}
		return usererr.Errorf(ErrBadRequest, "try again", "cannot read the request body for %s (%w)", r.URL.Path, err)
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, req); err != nil {
		return usererr.Errorf(ErrBadRequest, notDocker, "malformed request to %s (%w)", r.URL.Path, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	w.WriteHeader(status)
	if v == nil {
		v = struct{}{}
	}
	json.NewEncoder(w).Encode(v)
}

// logCall writes one line per call: debug when it worked, a warning naming
// the IDs it concerned when it did not.
func (s *Server) logCall(path string, req any, took time.Duration, err error) {
	l := s.cfg.Log.WithFields(requestIDs(req)).WithField("call", path).WithField("took", took.Round(time.Microsecond))
	if err != nil {
		l.WithError(err).Warn("call failed")
		return
	}
	l.Debug("call")
}

// requestIDs picks the Docker IDs a request names, whatever its type.
func requestIDs(req any) logrus.Fields {
	f := logrus.Fields{}
	v := reflect.Indirect(reflect.ValueOf(req))
	if v.Kind() != reflect.Struct {
		return f
	}
	for _, name := range []string{"NetworkID", "EndpointID", "PoolID", "Address", "Pool"} {
		if fv := v.FieldByName(name); fv.IsValid() && fv.Kind() == reflect.String && fv.String() != "" {
			f[name] = fv.String()
		}
	}
	return f
}
