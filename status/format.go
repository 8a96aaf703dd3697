package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// JSON writes the report for machines.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Text writes the report for people.
func (r *Report) Text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("HOST\n")
	p("  chassis (system-id)\t%s\n", orDash(r.Host.SystemID))
	switch {
	case r.Host.Parent != "":
		p("  nested in a VM\ton logical port %s (no OVS: containers on VLAN interfaces)\n", r.Host.Parent)
	case r.Host.DatapathType == "":
		p("  bridge\t%s (not found)\n", r.Host.Bridge)
	default:
		p("  bridge\t%s (%s datapath)\n", r.Host.Bridge, r.Host.DatapathType)
	}
	if r.Host.Parent == "" {
		p("  local OVS database\t%s\n", dbState(r.Host.OVS))
	}
	p("  OVN northbound database\t%s\n", dbState(r.OVN))
	if r.Docker.Remote != "" {
		p("  Docker engine\t%s\n", dbState(r.Docker))
	}
	if r.Outside != "" {
		p("  outside of routed networks\t%s\n", r.Outside)
	}
	p("\nNETWORKS (%d)\n", len(r.Networks))
	if len(r.Networks) > 0 {
		p("  NETWORK\tLOGICAL SWITCH\tSUBNETS\tMTU\tPORTS\n")
	}
	for _, n := range r.Networks {
		subnets := strings.Join(n.Subnets, ",")
		if n.Internal {
			subnets += " (internal)"
		}
		if n.Shared != "" {
			subnets += fmt.Sprintf(" (shared by %d hosts)", n.Hosts)
		}
		if n.Router != "" {
			subnets += " (router " + n.Router + ")"
		}
		if n.Policy != "" {
			subnets += " (" + n.Policy + ")"
		}
		if n.Stale {
			subnets += " STALE: Docker no longer knows it"
		}
		p("  %s\t%s\t%s\t%d\t%d\n", short(n.ID), n.Switch, subnets, n.MTU, n.Ports)
	}
	p("\nENDPOINTS ON THIS HOST (%d; %d on other hosts)\n", len(r.Endpoints), r.RemoteEndpoints)
	if len(r.Endpoints) > 0 {
		p("  ENDPOINT\tNETWORK\tIP\tMAC\tOVS INTERFACE\tOVN-INSTALLED\tUP\n")
	}
	for _, e := range r.Endpoints {
		iface, installed := orDash(e.Interface), yesNo(e.OVNInstalled)
		if e.Tag != 0 {
			iface, installed = fmt.Sprintf("VLAN %d", e.Tag), "-"
		}
		p("  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", short(e.ID), short(e.NetworkID), orDash(strings.Join(e.IPs, ",")),
			e.MAC, iface, installed, yesNo(e.Up))
	}
	if len(r.Published) > 0 {
		p("\nPUBLISHED PORTS (%d; docker port cannot show them)\n", len(r.Published))
		p("  ROUTER\tPUBLISHED ON\tPROTOCOL\tCONTAINER\tENDPOINT\n")
	}
	for _, pp := range r.Published {
		p("  %s\t%s\t%s\t%s\t%s\n", pp.Router, pp.External, pp.Proto, pp.Internal, short(pp.EndpointID))
	}
	if len(r.Interfaces) > 0 {
		p("\nORPHAN OVS INTERFACES (no logical port): %s\n", strings.Join(r.Interfaces, " "))
	}
	p("\nIPAM POOLS (%d)\n", len(r.Pools))
	if len(r.Pools) > 0 {
		p("  POOL\tRANGE\tCLAIMED\tOF\n")
	}
	for _, pl := range r.Pools {
		stale := ""
		if pl.Stale {
			stale = "\tSTALE: no Docker network uses it"
		}
		p("  %s\t%s\t%d\t%s%s\n", pl.ID, orDash(pl.Range), pl.Claimed, pl.Capacity, stale)
	}
	return tw.Flush()
}

func dbState(d Database) string {
	if d.Error != "" {
		return "UNREACHABLE: " + d.Error
	}
	return "ok " + d.Remote
}

// short is Docker's 12-character form of an ID.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
