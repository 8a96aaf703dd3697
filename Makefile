# ovn-docker: `make demo` shows it working, `make test` runs every test.
GO      ?= go
BIN     := bin/ovn-docker
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
UNIT    := $(shell $(GO) list ./... | grep -v /test/)

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: build env env-down demo demo-stop test test-hosts test-nested test-faults check unit fuzz e2e bench generate clean plugin install uninstall

build:
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/ovn-docker

env:
	test/env/up.sh

env-down:
	test/env/down.sh

demo: build
	BIN=$(BIN) test/demo.sh

demo-stop:
	test/env/plugin.sh stop

# Every test: static checks, unit and OVSDB/netlink integration tests (with
# the race detector, and every fuzz target's seed corpus), then end to end
# against real Docker, OVS and OVN. Fuzzing itself is `make fuzz`: a
# fuzzing engine's progress depends on the machine's load, and CI must not.
test: build env demo-stop check unit e2e test-hosts test-nested

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 $(UNIT)

# Each fuzz target for FUZZTIME; `make unit` already runs their corpora.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseNetwork$$' -fuzztime $(FUZZTIME) ./driver/
	$(GO) test -run '^$$' -fuzz '^FuzzParseEndpoint$$' -fuzztime $(FUZZTIME) ./driver/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./plugin/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePoolRequest$$' -fuzztime $(FUZZTIME) ./ipam/
	$(GO) test -run '^$$' -fuzz '^FuzzPoolID$$' -fuzztime $(FUZZTIME) ./ipam/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeNetworks$$' -fuzztime $(FUZZTIME) ./dockerapi/
	$(GO) test -run '^$$' -fuzz '^FuzzParseExternal$$' -fuzztime $(FUZZTIME) ./cmd/ovn-docker/

# The end-to-end suite runs against each engine of ENGINES in turn (see
# test/env/engine.sh): Debian's Docker 20.10, then the current engine,
# built once per machine and cached. A failure names the engine.
ENGINES ?= debian current
e2e: build
	@for e in $(ENGINES); do \
	  echo "e2e: against the $$e Docker engine"; \
	  DOCKER_ENGINE=$$e test/env/up.sh && test/env/plugin.sh stop && \
	  DOCKER_ENGINE=$$e $(GO) test -count=1 -timeout 20m -v ./test/e2e/ || \
	    { echo "e2e: FAILED against the $$e Docker engine"; exit 1; }; \
	done

# The multi-host suite: 3 Docker hosts on one OVN (test/env/hosts.sh),
# each with its own engine, OVS, ovn-controller and ovn-docker. The bed
# stays up afterwards for a look; test/env/hosts.sh down removes it.
test-hosts: build
	test/env/hosts.sh up 3
	$(GO) test -count=1 -timeout 20m -v ./test/multihost/

# Containers inside a VM on OVN nested ports (test/env/nested.sh): the VM
# runs Debian's kernel, whose 802.1Q this machine's may lack, so the
# hostnet VLAN tests run there too.
test-nested: build
	test/env/nested.sh up
	$(GO) test -c -tags vlan -o bin/hostnet-vlan.test ./hostnet/
	test/env/nested.sh exec vm /host$(CURDIR)/bin/hostnet-vlan.test -test.run VLAN -test.v
	$(GO) test -count=1 -timeout 20m -v ./test/nested/

# Only the fault tests (plugin killed, dockerd restarted, NB down, frozen or
# losing its Raft leader, concurrency); make test runs them too.
test-faults: build env demo-stop
	$(GO) test -count=1 -timeout 10m -v -run 'Fault|Concurrent' ./test/e2e/

# Benchmarks: the RPC path against the Python driver's way (one caller and
# many), the daemon among 10 000 endpoints, then whole docker runs, on one
# host and on the 3-host bed. Results go in docs/benchmarks.md. Never in CI:
# their figures are for reading, not for passing.
bench: build env demo-stop
	$(GO) test -run '^$$' -bench . -skip Concurrent -benchtime 200x -count 5 ./test/bench/
	$(GO) test -run '^$$' -bench Concurrent -benchtime 320x -count 3 ./test/bench/
	$(GO) run ./test/bench/scale -endpoints 10000 -networks 100 -hosts 10
	$(GO) test -run '^$$' -bench ClaimRelease -benchtime 2000x -count 5 ./ipam/
	test/bench/docker-run.sh 30
	test/bench/hosts-run.sh 30
	test/bench/claims-fanout.sh 1000

# The managed plugin, created in the local engine as $(PLUGIN):latest.
PLUGIN ?= openvswitch
plugin: build
	packaging/plugin.sh $(PLUGIN)

# The host service: binary, systemd unit (before docker.service), settings.
# Docker finds the socket in /run/docker/plugins by itself: no spec file.
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ovn-docker
	install -d $(DESTDIR)/etc/systemd/system
	sed 's|@BINDIR@|$(PREFIX)/bin|' packaging/ovn-docker.service > $(DESTDIR)/etc/systemd/system/ovn-docker.service
	test -e $(DESTDIR)/etc/default/ovn-docker || install -D -m 0644 packaging/ovn-docker.default $(DESTDIR)/etc/default/ovn-docker
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "installed; start it with: systemctl enable --now ovn-docker"; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ovn-docker $(DESTDIR)/etc/systemd/system/ovn-docker.service

generate:
	$(GO) generate ./ovs/...

clean:
	rm -rf bin
