package main

import "testing"

// The profiler shows the daemon's memory: only loopback addresses.
func TestCheckPprof(t *testing.T) {
	for addr, ok := range map[string]bool{
		"": true, "127.0.0.1:6060": true, "[::1]:6060": true, "localhost:6060": true,
		"0.0.0.0:6060": false, ":6060": false, "10.0.0.1:6060": false, "127.0.0.1": false,
		"127.0.0.1:http": false, "127.0.0.1:99999": false, "example.com:6060": false,
	} {
		if err := checkPprof(addr); (err == nil) != ok {
			t.Errorf("checkPprof(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}
