package bench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Concurrency levels of issue 16: how many containers start at once.
var callerCounts = []int{1, 8, 32}

// BenchmarkConcurrentCycle runs BenchmarkDriverCycle's cycle (no wait for
// ovn-installed, as the Python driver never waited) from several callers
// at once, as Docker does when containers start together. ns/op is wall
// time over cycles: the inverse of throughput.
func BenchmarkConcurrentCycle(b *testing.B) {
	for _, n := range callerCounts {
		b.Run(fmt.Sprintf("callers=%d", n), func(b *testing.B) {
			s := startServer(b, 0)
			concurrently(b, n, func(i int) {
				ep := s.endpointWithID(b, randomID(b), i, false)
				s.call(b, "Join", joinRequest(ep, false))
				s.call(b, "Leave", ep)
				s.call(b, "DeleteEndpoint", ep)
			})
		})
	}
}

// BenchmarkConcurrentPythonCycle is the same work done the Python
// driver's way, by as many callers at once.
func BenchmarkConcurrentPythonCycle(b *testing.B) {
	for _, n := range callerCounts {
		b.Run(fmt.Sprintf("callers=%d", n), func(b *testing.B) {
			ls := fmt.Sprintf("bench-%d", time.Now().UnixNano())
			sh(b, "ovn-nbctl", "ls-add", ls)
			b.Cleanup(func() { exec.Command("ovn-nbctl", "--if-exists", "ls-del", ls).Run() })
			concurrently(b, n, func(i int) { pythonCycle(b, ls, randomID(b), i) })
		})
	}
}

// concurrently spreads b.N runs of cycle over n goroutines and reports
// each cycle's latency (p50, p99) and the cycles per second.
func concurrently(b *testing.B, n int, cycle func(i int)) {
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := processCPU()
	t0 := time.Now()
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			// A failed call ends its goroutine through b.Fatal; Done
			// still runs, so the benchmark ends and reports it.
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				c0 := time.Now()
				cycle(i)
				lat[i] = time.Since(c0)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	cpu := processCPU() - cpu0
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b.N)/wall.Seconds(), "cycles/s")
	// The daemon runs in this process: its CPU per cycle, with the
	// callers' (small) and, for the Python way, the commands' it waits for.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "proc-cpu-ms/op")
}

// processCPU is the user and system time of this process and the children
// it waited for.
func processCPU() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// randomID is an endpoint ID as Docker makes them: random, so the host
// interface names cut from it differ between concurrent callers.
func randomID(b *testing.B) string {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(buf)
}
