// Command scale measures one ovn-docker daemon as the deployment around it
// grows (issue 16): its memory, the time from its start to its first
// completed reconcile pass, and RequestAddress and CreateEndpoint
// latencies, first on an empty NB, then with ENDPOINTS more endpoints over
// NETWORKS networks in NB, made through the driver's own calls by daemons
// posing as HOSTS other hosts (each with a private Open_vSwitch database
// naming its system-id; their endpoints are never joined, as no container
// of theirs runs here).
//
//	go run ./test/bench/scale -endpoints 10000 -networks 100 -hosts 10
//
// It needs the single-host environment (test/env/up.sh) and bin/ovn-docker,
// and removes what it made when it ends. Results: docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

type options struct {
	bin       string
	endpoints int
	networks  int
	hosts     int
	samples   int
	dir       string
	pprof     string
	isolate   bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/ovn-docker", "the daemon to measure")
	flag.IntVar(&o.endpoints, "endpoints", 10000, "endpoints the other hosts make")
	flag.IntVar(&o.networks, "networks", 100, "networks they spread over")
	flag.IntVar(&o.hosts, "hosts", 10, "simulated other hosts")
	flag.IntVar(&o.samples, "samples", 200, "timed RequestAddress + CreateEndpoint pairs per measurement")
	flag.StringVar(&o.dir, "dir", "/run/ovn-docker-scale", "where sockets, databases and logs go")
	flag.StringVar(&o.pprof, "pprof", "", "if set, the measured daemon serves pprof there (--pprof)")
	flag.BoolVar(&o.isolate, "isolate", false, "stop ovn-northd and the simulated hosts' daemons (SIGSTOP) while timing, "+
		"as if they ran on other machines, as they do in a deployment")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if err := os.RemoveAll(o.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	extra := []string{}
	if o.pprof != "" {
		extra = append(extra, "--pprof", o.pprof)
	}
	m, err := startDaemon(ctx, o.bin, filepath.Join(o.dir, "measured"), extra...)
	if err != nil {
		return err
	}
	defer func() { m.stop() }()
	fmt.Printf("measured daemon: first reconcile pass %v after start, RSS %s\n", m.firstPass, m.rss())

	var sims []*daemon
	pause := func() func() { return pauseOthers(o.isolate, sims) }
	empty, err := measure(ctx, m, "scale-measured", o.samples, pause)
	if err != nil {
		return err
	}
	report("empty NB", empty, m)

	sims, err = fill(ctx, o)
	defer func() {
		for _, s := range sims {
			s.stop()
		}
	}()
	if err != nil {
		return err
	}
	full, err := measure(ctx, m, "scale-measured", o.samples, pause)
	if err != nil {
		return err
	}
	report(fmt.Sprintf("%d endpoints in NB, daemon running", o.endpoints), full, m)
	saveHeap(o, "full")

	m.stop()
	profiled := profileStart(o)
	if m, err = startDaemon(ctx, o.bin, filepath.Join(o.dir, "measured"), extra...); err != nil {
		return err
	}
	fmt.Printf("measured daemon restarted: first reconcile pass %v after start, RSS %s\n", m.firstPass, m.rss())
	<-profiled
	again, err := measure(ctx, m, "scale-measured", o.samples, pause)
	if err != nil {
		return err
	}
	report(fmt.Sprintf("%d endpoints in NB, after a restart", o.endpoints), again, m)
	saveHeap(o, "restarted")
	fmt.Printf("ratios to the empty NB (p50, p99): after filling RequestAddress %.2f %.2f, CreateEndpoint %.2f %.2f; "+
		"after the restart RequestAddress %.2f %.2f, CreateEndpoint %.2f %.2f\n",
		ratio(full.addr, empty.addr, 50), ratio(full.addr, empty.addr, 99), ratio(full.ep, empty.ep, 50), ratio(full.ep, empty.ep, 99),
		ratio(again.addr, empty.addr, 50), ratio(again.addr, empty.addr, 99), ratio(again.ep, empty.ep, 50), ratio(again.ep, empty.ep, 99))
	for _, s := range sims {
		if err := s.teardown(ctx); err != nil {
			return err
		}
	}
	return nil
}

// fill has o.hosts simulated hosts make o.endpoints endpoints over
// o.networks networks, all hosts at once.
func fill(ctx context.Context, o options) ([]*daemon, error) {
	var sims []*daemon
	for h := 0; h < o.hosts; h++ {
		d, err := startSimHost(ctx, o.bin, filepath.Join(o.dir, fmt.Sprintf("sim%d", h)), fmt.Sprintf("scale-sim%d", h))
		if err != nil {
			return sims, err
		}
		sims = append(sims, d)
	}
	t0 := time.Now()
	errs := make(chan error, len(sims))
	var wg sync.WaitGroup
	for h, d := range sims {
		nets := o.networks / o.hosts
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.populate(ctx, fmt.Sprintf("scale-sim%d", h), nets, o.endpoints/o.hosts/nets)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return sims, err
		}
	}
	fmt.Printf("filled NB with %d endpoints over %d networks from %d hosts in %v\n",
		o.endpoints, o.networks, o.hosts, time.Since(t0).Round(time.Millisecond))
	return sims, nil
}

// sample holds the timings of one measurement, and the CPU it cost.
type sample struct {
	addr, ep []time.Duration
	cpu      string
}

// measure makes one network of the measured host with n endpoints, timing
// each RequestAddress and CreateEndpoint, then removes it all.
func measure(ctx context.Context, d *daemon, name string, n int, pause func() func()) (sample, error) {
	net, err := d.createNetwork(ctx, name)
	if err != nil {
		return sample{}, err
	}
	var s sample
	resume := pause()
	defer resume()
	cpu := newCPUMeter(d.cmd.Process.Pid)
	before := cpu.read()
	for i := 0; i < n; i++ {
		_, ta, te, err := d.createEndpoint(ctx, net, i)
		if err != nil {
			return s, err
		}
		s.addr, s.ep = append(s.addr, ta), append(s.ep, te)
	}
	s.cpu = cpu.per(before, n)
	resume()
	for _, ep := range net.endpoints {
		if err := d.deleteEndpoint(ctx, net, ep); err != nil {
			return s, err
		}
	}
	return s, d.deleteNetwork(ctx, net)
}

func report(label string, s sample, d *daemon) {
	fmt.Printf("%-40s RequestAddress p50 %v p99 %v | CreateEndpoint p50 %v p99 %v | RSS %s\n", label,
		pct(s.addr, 50), pct(s.addr, 99), pct(s.ep, 50), pct(s.ep, 99), d.rss())
	fmt.Printf("%-40s CPU per RequestAddress + CreateEndpoint: %s\n", "", s.cpu)
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(10 * time.Microsecond)
}

// pauseOthers stops ovn-northd and the simulated hosts' daemons when
// isolate is set, and returns what resumes them (once).
func pauseOthers(isolate bool, sims []*daemon) func() {
	if !isolate {
		return func() {}
	}
	pids := []int{pidOf("/var/run/ovn/ovn-northd.pid")}
	for _, s := range sims {
		pids = append(pids, s.cmd.Process.Pid)
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGCONT)
			}
		})
	}
}

// profileStart takes a CPU profile of the daemon's first 3 seconds after
// a start, for go tool pprof; the channel closes when it is saved.
func profileStart(o options) <-chan struct{} {
	done := make(chan struct{})
	if o.pprof == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if err := save(o, "http://"+o.pprof+"/debug/pprof/profile?seconds=3", "cpu-restart"); err == nil {
				return
			}
			time.Sleep(10 * time.Millisecond) // until the new daemon listens
		}
	}()
	return done
}

// saveHeap keeps the measured daemon's heap profile in o.dir, for go tool
// pprof.
func saveHeap(o options, name string) {
	if o.pprof == "" {
		return
	}
	if err := save(o, "http://"+o.pprof+"/debug/pprof/heap", "heap-"+name); err != nil {
		fmt.Fprintln(os.Stderr, "scale: heap profile:", err)
	}
}

func save(o options, url, name string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	f, err := os.Create(filepath.Join(o.dir, name+".pb.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, res.Body)
	return err
}

func ratio(a, b []time.Duration, p int) float64 { return float64(pct(a, p)) / float64(pct(b, p)) }
