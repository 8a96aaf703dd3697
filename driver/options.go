package driver

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/ovn-docker/ovn-docker/internal/usererr"
)

// ErrInvalid marks a request the driver refuses as given.
var ErrInvalid = errors.New("invalid request")

// invalid is a refusal of the request as given: what is wrong with it, and
// (hint) what to give instead; it matches ErrInvalid.
func invalid(hint, format string, args ...any) error {
	return usererr.Errorf(ErrInvalid, hint, format, args...)
}

// notDocker is the advice for what only a broken caller sends: Docker
// itself never does.
const notDocker = "only a Docker engine should call this plugin"

// Option keys Docker uses in CreateNetwork.Options.
const (
	optGeneric    = "com.docker.network.generic"
	optInternal   = "com.docker.network.internal"
	optEnableIPv6 = "com.docker.network.enable_ipv6"
	optEnableIPv4 = "com.docker.network.enable_ipv4" // Docker 28+
)

// Driver options a user may give with `docker network create -o`.
const (
	OptMTU      = "com.docker.network.driver.mtu"
	OptMTUShort = "mtu"
)

// OptNetwork names an OVN network shared by every host that creates a
// Docker network with the same name: one logical switch for all of them.
const OptNetwork = "ovn.network"

// OptRouter attaches the network to the OVN logical router of that name:
// the router answers at the network's gateway address and routes between
// the networks attached to it.
const OptRouter = "ovn.router"

var knownOptions = []string{OptMTU, OptMTUShort, OptNetwork, OptRouter, OptICC, OptIngress, OptIsolate}

// sharedName is what ovn.network may be: it names a logical switch, and
// "docker-" names are this driver's per-host switches.
var sharedName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// MTU bounds: below 1280 IPv6 cannot run; 68 is IPv4's floor.
const (
	minMTU     = 68
	minMTUIPv6 = 1280
	maxMTU     = 65535
)

// Pool is one subnet of a network as Docker's IPAM gave it.
type Pool struct {
	Space   string // the IPAM driver's address space
	Subnet  netip.Prefix
	Gateway netip.Prefix // zero when Docker sent none
	Aux     []netip.Addr // --aux-address reservations
}

// NetworkConfig is a validated CreateNetwork request.
type NetworkConfig struct {
	ID       string
	IPv4     []Pool
	IPv6     []Pool
	MTU      int // 0: the driver picks from the underlay
	Internal bool
	// Shared is the ovn.network name: the network's switch is shared with
	// every host that creates a network with that name. Empty: per host.
	Shared string
	// Router is the ovn.router name; empty: not routed. An --internal
	// network stays off it (no gateway, no way out).
	Router string
	// NoICC: containers of the network may not reach each other.
	NoICC bool
	// Ingress is nb.IngressExposed for ovn.ingress=exposed; "" for all.
	Ingress string
	// Isolate: the routed network reaches no other network on its router.
	Isolate bool
}

// Subnets lists every subnet, IPv4 first, as CIDR strings.
func (c NetworkConfig) Subnets() []string {
	var out []string
	for _, p := range append(append([]Pool{}, c.IPv4...), c.IPv6...) {
		out = append(out, p.Subnet.String())
	}
	return out
}

// PoolIDs names the network's pools as "<address space>/<subnet>", which
// for ovn-docker's IPAM is the PoolID Docker holds: reconciliation keys
// address claims by it, never by subnet alone, since pools of other hosts,
// spaces or drivers may share a subnet.
func (c NetworkConfig) PoolIDs() []string {
	var out []string
	for _, p := range append(append([]Pool{}, c.IPv4...), c.IPv6...) {
		if p.Space != "" {
			out = append(out, p.Space+"/"+p.Subnet.String())
		}
	}
	return out
}

// Aux lists the --aux-address reservations.
func (c NetworkConfig) Aux() []string {
	var out []string
	for _, p := range append(append([]Pool{}, c.IPv4...), c.IPv6...) {
		for _, a := range p.Aux {
			out = append(out, a.String())
		}
	}
	return out
}

// Gateways lists the gateways Docker's IPAM reserved, as CIDR strings.
func (c NetworkConfig) Gateways() []string {
	var out []string
	for _, p := range append(append([]Pool{}, c.IPv4...), c.IPv6...) {
		if p.Gateway.IsValid() {
			out = append(out, p.Gateway.String())
		}
	}
	return out
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func checkID(kind, id string) error {
	if !idPattern.MatchString(id) {
		return invalid(notDocker, "%s ID %q is not a valid Docker ID", kind, id)
	}
	return nil
}

// ParseNetwork validates a CreateNetwork request without touching anything.
func ParseNetwork(req *network.CreateNetworkRequest) (NetworkConfig, error) {
	if req == nil {
		return NetworkConfig{}, invalid(notDocker, "the CreateNetwork request is empty")
	}
	cfg := NetworkConfig{ID: req.NetworkID}
	if err := checkID("network", req.NetworkID); err != nil {
		return cfg, err
	}
	var err error
	if cfg.IPv4, err = parsePools(req.IPv4Data, false); err != nil {
		return cfg, err
	}
	if cfg.IPv6, err = parsePools(req.IPv6Data, true); err != nil {
		return cfg, err
	}
	if len(cfg.IPv4)+len(cfg.IPv6) == 0 {
		return cfg, invalid("give one with --subnet", "network %s has no subnet", shortID(cfg.ID))
	}
	if cfg.Internal, err = boolOption(req.Options, optInternal); err != nil {
		return cfg, err
	}
	generic, err := genericOptions(req.Options)
	if err != nil {
		return cfg, err
	}
	if cfg.Shared, err = parseShared(generic); err != nil {
		return cfg, err
	}
	if cfg.MTU, err = parseMTU(generic, len(cfg.IPv6) > 0); err != nil {
		return cfg, err
	}
	if cfg.Router, err = parseRouter(generic); err != nil {
		return cfg, err
	}
	if cfg.NoICC, err = parseICC(generic); err != nil {
		return cfg, err
	}
	if cfg.Ingress, err = parseIngress(generic); err != nil {
		return cfg, err
	}
	if cfg.Isolate, err = parseIsolate(generic, cfg.Router); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func parsePools(data []*network.IPAMData, v6 bool) ([]Pool, error) {
	family := "IPv4"
	if v6 {
		family = "IPv6"
	}
	var pools []Pool
	for _, d := range data {
		if d == nil || d.Pool == "" {
			return nil, invalid("give one with --subnet", "an %s pool of the network has no subnet", family)
		}
		subnet, err := netip.ParsePrefix(d.Pool)
		if err != nil || subnet.Addr().Is6() != v6 || subnet.Addr().Is4In6() {
			return nil, invalid("give a valid one with --subnet", "%q is not a valid %s subnet", d.Pool, family)
		}
		p := Pool{Space: d.AddressSpace, Subnet: subnet.Masked()}
		if d.Gateway != "" {
			if p.Gateway, err = parseGateway(d.Gateway); err != nil || !p.Subnet.Contains(p.Gateway.Addr()) {
				return nil, invalid("give one inside the subnet with --gateway", "gateway %q is not an address in subnet %s", d.Gateway, p.Subnet)
			}
		}
		if p.Aux, err = parseAux(d.AuxAddresses, p.Subnet); err != nil {
			return nil, err
		}
		pools = append(pools, p)
	}
	return pools, nil
}

// parseAux reads Docker's {"name": "10.0.0.5/24"} reservations, sorted.
func parseAux(aux map[string]any, subnet netip.Prefix) ([]netip.Addr, error) {
	var out []netip.Addr
	for name, v := range aux {
		s, _ := v.(string)
		p, err := parseGateway(s)
		if err != nil || !subnet.Contains(p.Addr()) {
			return nil, invalid("give one inside the subnet with --aux-address", "aux address %s=%v is not an address in subnet %s", name, v, subnet)
		}
		out = append(out, p.Addr())
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out, nil
}

// parseGateway accepts "10.0.0.1/24" as Docker sends it, and a bare address.
func parseGateway(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func boolOption(opts map[string]any, key string) (bool, error) {
	v, ok := opts[key]
	if !ok || v == nil {
		return false, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		if r, err := strconv.ParseBool(b); err == nil {
			return r, nil
		}
	}
	return false, invalid(notDocker, "option %s must be true or false, not %v", key, v)
}

// genericOptions returns the user's -o options, refusing unknown ones: a
// typo must not silently give a network other than the one asked for.
func genericOptions(opts map[string]any) (map[string]string, error) {
	raw, ok := opts[optGeneric]
	if !ok || raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, invalid(notDocker, "the driver options (%s) are not a map of strings", optGeneric)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k == optEnableIPv4 || k == optEnableIPv6 {
			// Current engines leave these here too when given with -o;
			// the copies at the top level are the ones that count.
			continue
		}
		if !isKnownOption(k) {
			return nil, invalid("remove it (the driver takes "+strings.Join(knownOptions, ", ")+")",
				"unknown option %q for the openvswitch driver", k)
		}
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

func isKnownOption(k string) bool { return slices.Contains(knownOptions, k) }

func parseMTU(generic map[string]string, ipv6 bool) (int, error) {
	long, hasLong := generic[OptMTU]
	short, hasShort := generic[OptMTUShort]
	if hasLong && hasShort && long != short {
		return 0, invalid("give only one of them", "options %s=%s and %s=%s disagree", OptMTU, long, OptMTUShort, short)
	}
	s := long
	if !hasLong {
		s = short
	}
	if !hasLong && !hasShort {
		return 0, nil
	}
	low := minMTU
	if ipv6 {
		low = minMTUIPv6
	}
	mtu, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || mtu < low || mtu > maxMTU {
		return 0, invalid(fmt.Sprintf("give a whole number from %d to %d", low, maxMTU), "invalid MTU %q", s)
	}
	return mtu, nil
}

func checkIDs(networkID, endpointID string) error {
	if err := checkID("network", networkID); err != nil {
		return err
	}
	return checkID("endpoint", endpointID)
}

func parseAddr(s string, v6 bool) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is6() != v6 || p.Addr().Is4In6() {
		family := "IPv4"
		if v6 {
			family = "IPv6"
		}
		return netip.Prefix{}, invalid(notDocker, "%q is not a valid %s address with prefix length", s, family)
	}
	return p, nil
}

// parseShared reads -o ovn.network=NAME.
func parseShared(generic map[string]string) (string, error) {
	name, ok := generic[OptNetwork]
	if !ok {
		return "", nil
	}
	if !sharedName.MatchString(name) || strings.HasPrefix(name, "docker-") {
		return "", invalid("give 1 to 64 letters, digits, '_', '.' or '-', not starting with docker-",
			"%s=%q is not a valid OVN network name", OptNetwork, name)
	}
	return name, nil
}

// parseRouter reads -o ovn.router=NAME.
func parseRouter(generic map[string]string) (string, error) {
	name, ok := generic[OptRouter]
	if ok && !sharedName.MatchString(name) {
		return "", invalid("give 1 to 64 letters, digits, '_', '.' or '-'",
			"%s=%q is not a valid OVN router name", OptRouter, name)
	}
	return name, nil
}
