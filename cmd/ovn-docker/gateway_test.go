package main

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseGatewayFlags(t *testing.T) {
	c, err := parseGatewayFlags([]string{"set", "--subnet", "172.30.0.7/24", "--next-hop", "172.30.0.1", "--range", "172.30.0.16/28",
		"--chassis", "gw1, gw2", "--physnet", "ext"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e := c.External
	if e.Subnet.String() != "172.30.0.0/24" || e.Range.String() != "172.30.0.16/28" || strings.Join(e.Chassis, ",") != "gw1,gw2" || e.Physnet != "ext" {
		t.Fatalf("%+v", e)
	}
	if c, err = parseGatewayFlags([]string{"set", "--subnet", "172.30.0.0/24", "--next-hop", "172.30.0.1", "--chassis", "gw1"}, noEnv, io.Discard); err != nil ||
		c.External.Range != c.External.Subnet || c.External.Physnet != "physnet" {
		t.Fatalf("defaults: %+v %v", c.External, err)
	}
	for _, v := range []string{"show", "unset"} {
		if c, err := parseGatewayFlags([]string{v}, noEnv, io.Discard); err != nil || c.Verb != v {
			t.Fatalf("%s: %+v %v", v, c, err)
		}
	}
	if _, err := parseGatewayFlags([]string{"--help"}, noEnv, io.Discard); !errors.Is(err, flagHelp) {
		t.Fatalf("help: %v", err)
	}
}

func TestParseGatewayFlagsRefusesNonsense(t *testing.T) {
	base := map[string]string{"--subnet": "172.30.0.0/24", "--next-hop": "172.30.0.1", "--chassis": "gw1"}
	for _, tc := range []struct{ flag, value, says string }{
		{"--subnet", "172.30.0.0/31", "--subnet"},
		{"--subnet", "fd00::/64", "--subnet"},
		{"--subnet", "", "--subnet"},
		{"--next-hop", "10.0.0.1", "--next-hop"},
		{"--range", "172.31.0.0/28", "--range"},
		{"--range", "172.30.0.0/16", "--range"},
		{"--chassis", "", "--chassis"},
		{"--chassis", "gw1,,gw2", "--chassis"},
		{"--physnet", "a b", "--physnet"},
	} {
		args := []string{"set"}
		for k, v := range base {
			if k != tc.flag {
				args = append(args, k, v)
			}
		}
		args = append(args, tc.flag, tc.value)
		if _, err := parseGatewayFlags(args, noEnv, io.Discard); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s=%q: %v", tc.flag, tc.value, err)
		}
	}
	if _, err := parseGatewayFlags([]string{"sett"}, noEnv, io.Discard); err == nil {
		t.Error("unknown verb accepted")
	}
}

func FuzzParseExternal(f *testing.F) {
	f.Add("172.30.0.0/24", "172.30.0.1", "172.30.0.16/28", "gw1,gw2", "physnet")
	f.Add("10.0.0.0/30", "10.0.0.2", "", "a", "b")
	f.Add("::/0", "::", "1.2.3.4/0", ",", "")
	f.Fuzz(func(t *testing.T, subnet, nextHop, rng, chassis, physnet string) {
		e, err := parseExternal(subnet, nextHop, rng, chassis, physnet)
		if err != nil {
			return
		}
		if !e.Subnet.Contains(e.NextHop) || !e.Subnet.Contains(e.Range.Addr()) || e.Range.Bits() < e.Subnet.Bits() || len(e.Chassis) == 0 {
			t.Fatalf("accepted %+v", e)
		}
	})
}
