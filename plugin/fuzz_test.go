package plugin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
)

// decode never panics and either fills the request or reports ErrBadRequest.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("null"))
	f.Add([]byte(`{"NetworkID":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/NetworkDriver.Join", bytes.NewReader(body))
		var req network.JoinRequest
		if err := decode(w, r, &req); err != nil && !bytes.Contains([]byte(err.Error()), []byte("request")) {
			t.Fatalf("unexpected error shape: %v", err)
		}
	})
}
