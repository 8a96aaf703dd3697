package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The NB may be shared with other software (ovn-kubernetes keeps a logical
// port per pod there); these rows stand in for its share. They carry no
// docker:owner mark, so nothing of ovn-docker's may touch them.
const (
	foreignSwitches       = 100
	foreignPortsPerSwitch = 200
	nbRemote              = "unix:/var/run/ovn/ovnnb_db.sock"
	// foreignMarkKey marks the foreign switches this benchmark made, so its
	// cleanup can never delete a same-named switch that someone else owns.
	foreignMarkKey = "ovn-docker-bench"
)

// BenchmarkCreateEndpointForeignRows measures one CreateEndpoint through
// the plugin's socket with an NB holding none of the foreign rows, and with
// 20 000 foreign logical ports on 100 foreign switches. The daemon must
// cost no more per call because of rows that are not its own: the second
// case should stay within 1.2x of the first.
//
//	go test -run '^$' -bench CreateEndpointForeignRows -benchtime 300x -count 5 ./test/bench/
func BenchmarkCreateEndpointForeignRows(b *testing.B) {
	b.Run("empty", benchCreateEndpoint)
	// The rows are added once for all runs of the sub-benchmark (testing
	// runs it with b.N=1, then with the real b.N, for each -count), and
	// owned by this parent so they go when it ends, whatever happened in
	// between. They are added inside the sub-benchmark so that
	// -bench .../empty never pays for them.
	parent, added := b, false
	b.Run("20k-foreign", func(b *testing.B) {
		if !added {
			addForeignRows(b, parent)
			added = true
		}
		benchCreateEndpoint(b)
	})
}

// benchCreateEndpoint times CreateEndpoint only. DeleteEndpoint runs after
// each one with the timer stopped: it keeps the NB at the same size on every
// iteration, but its cost is not what this benchmark is about.
func benchCreateEndpoint(b *testing.B) {
	// The daemon starts after the foreign rows exist, so its first monitor
	// reply carries them all: the heap it keeps afterwards is its cache.
	heap := heapInUse()
	s := startServer(b, 0)
	heap = heapInUse() - heap
	lsps := countRows(b, "Logical_Switch_Port")
	// Part of a call's cost is the NB server's, out of reach of a profile of
	// this process; its CPU time during the timed calls shows how much
	// (whatever else it serves meanwhile, e.g. ovn-northd, counts too).
	nbPID := pidOf("/var/run/ovn/ovnnb_db.pid")
	var nbCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ep := fmt.Sprintf("%016x%048x", time.Now().UnixNano(), i)
		cpu := cpuTime(nbPID)
		b.StartTimer()
		s.call(b, "CreateEndpoint", map[string]any{"NetworkID": s.nid, "EndpointID": ep,
			"Interface": map[string]string{"Address": fmt.Sprintf("10.200.%d.%d/16", 1+i/250, 1+i%250)}})
		b.StopTimer()
		nbCPU += cpuTime(nbPID) - cpu
		s.call(b, "DeleteEndpoint", map[string]any{"NetworkID": s.nid, "EndpointID": ep})
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(lsps), "nb-lsps")
	b.ReportMetric(float64(heap)/(1<<20), "daemon-heap-MiB")
	if nbPID != 0 {
		b.ReportMetric(float64(nbCPU.Microseconds())/float64(b.N), "nbdb-cpu-us/op")
	}
}

// pidOf reads a daemon's pid file; 0 when there is none to read.
func pidOf(pidFile string) int {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// cpuTime is the CPU time all threads of process pid have used so far,
// from schedstat, whose nanoseconds resolve a single call where the clock
// ticks of /proc/PID/stat (10 ms) would not.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var total time.Duration
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if fields := strings.Fields(string(data)); len(fields) > 0 {
			ns, _ := strconv.ParseInt(fields[0], 10, 64)
			total += time.Duration(ns)
		}
	}
	return total
}

// heapInUse is the live heap after a full collection; the benchmark and
// the daemon share the process, so only differences mean anything.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// addForeignRows writes the foreign switches and their ports, one
// transaction per switch (one ovsdb-client run each, well under the size
// limit of one command-line argument), and removes them when owner ends.
func addForeignRows(b, owner *testing.B) {
	b.Helper()
	// Registered first, so rows of a half-finished insert go too.
	owner.Cleanup(func() {
		if err := removeForeignRows(); err != nil {
			owner.Errorf("foreign rows left in NB: %v", err)
		}
	})
	// A run killed before its cleanup (SIGKILL, -timeout) leaves rows whose
	// names would collide with the ones inserted now.
	if err := removeForeignRows(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for sw := 0; sw < foreignSwitches; sw++ {
		if _, err := nbTransact(foreignSwitchOps(sw)); err != nil {
			b.Fatalf("insert foreign switch %d: %v", sw, err)
		}
	}
	inserted := time.Since(start)
	// ovn-northd translates 20 000 new ports into the southbound database;
	// waiting for it keeps that work out of the timed calls.
	sh(b, "ovn-nbctl", "--timeout=600", "--wait=sb", "sync")
	b.Logf("foreign rows: inserted in %v, ovn-northd done after %v", inserted.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
}

// foreignSwitchOps builds switch sw with its ports, shaped like
// ovn-kubernetes' pod ports: one node's /24, MACs derived from the IPs.
func foreignSwitchOps(sw int) []any {
	ops := make([]any, 0, foreignPortsPerSwitch+1)
	refs := make([]any, 0, foreignPortsPerSwitch)
	for p := 0; p < foreignPortsPerSwitch; p++ {
		uuidName := fmt.Sprintf("p%d", p)
		addr := fmt.Sprintf("0a:58:0a:80:%02x:%02x 10.128.%d.%d", sw, p+2, sw, p+2)
		ops = append(ops, map[string]any{"op": "insert", "table": "Logical_Switch_Port", "uuid-name": uuidName,
			"row": map[string]any{
				"name":          fmt.Sprintf("foreign-lsp-%d", sw*foreignPortsPerSwitch+p),
				"addresses":     addr,
				"port_security": addr,
				"external_ids":  ovsMap("namespace", fmt.Sprintf("foreign-ns-%d", p%10), "pod", "true"),
				"options":       ovsMap("requested-chassis", fmt.Sprintf("foreign-node-%d", sw)),
			}})
		refs = append(refs, []any{"named-uuid", uuidName})
	}
	return append(ops, map[string]any{"op": "insert", "table": "Logical_Switch", "row": map[string]any{
		"name":         foreignSwitchName(sw),
		"ports":        []any{"set", refs},
		"external_ids": ovsMap(foreignMarkKey, "foreign-rows"),
	}})
}

func foreignSwitchName(sw int) string { return fmt.Sprintf("foreign-sw-%d", sw) }

// removeForeignRows deletes the marked foreign switches in one transaction;
// their ports go with them, since a port no switch refers to is not a root
// row and the server collects it.
func removeForeignRows() error {
	ops := make([]any, 0, foreignSwitches)
	for sw := 0; sw < foreignSwitches; sw++ {
		ops = append(ops, map[string]any{"op": "delete", "table": "Logical_Switch", "where": []any{
			[]any{"name", "==", foreignSwitchName(sw)},
			[]any{"external_ids", "includes", ovsMap(foreignMarkKey, "foreign-rows")},
		}})
	}
	res, err := nbTransact(ops)
	if err != nil {
		return err
	}
	deleted := 0
	for _, r := range res {
		deleted += r.Count
	}
	if deleted > 0 {
		// Let ovn-northd finish deleting what it had made of them, so it
		// does not eat the CPU of whatever is measured next.
		if out, err := exec.Command("ovn-nbctl", "--timeout=600", "--wait=sb", "sync").CombinedOutput(); err != nil {
			return fmt.Errorf("ovn-nbctl --wait=sb sync: %v %s", err, out)
		}
	}
	return nil
}

// countRows reads how many rows table holds, to show in the results
// what each case really ran against.
func countRows(b *testing.B, table string) int {
	res, err := nbTransact([]any{map[string]any{"op": "select", "table": table, "where": []any{},
		"columns": []string{"_uuid"}}})
	if err != nil {
		b.Fatal(err)
	}
	return len(res[0].Rows)
}

type opResult struct {
	Count   int               `json:"count"`
	Rows    []json.RawMessage `json:"rows"`
	Error   string            `json:"error"`
	Details string            `json:"details"`
}

// nbTransact runs ops as one NB transaction with ovsdb-client, which needs
// none of the code under test.
func nbTransact(ops []any) ([]opResult, error) {
	txn, err := json.Marshal(append([]any{"OVN_Northbound"}, ops...))
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command("ovsdb-client", "--timeout=120", "transact", nbRemote, string(txn))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ovsdb-client transact: %v %s", err, stderr.Bytes())
	}
	var res []opResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("ovsdb-client transact: %v in %.200s", err, out)
	}
	for i, r := range res {
		if r.Error != "" {
			return nil, fmt.Errorf("ovsdb-client transact: operation %d: %s: %s", i, r.Error, r.Details)
		}
	}
	return res, nil
}

// ovsMap is an OVSDB map of strings in the wire format: kv is k1, v1, k2, v2...
func ovsMap(kv ...string) []any {
	pairs := make([]any, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, []any{kv[i], kv[i+1]})
	}
	return []any{"map", pairs}
}
