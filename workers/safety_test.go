package workers

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

func TestCheckTarget(t *testing.T) {
	flag := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("8.8.8.0/24")}
	tests := []struct {
		addr     string
		scenario []string
		ok       bool
	}{
		{"127.0.0.1:80", nil, true},                           // loopback: always
		{"127.9.9.9:80", nil, true},                           // all of 127/8 is loopback
		{"[::1]:80", nil, true},                               // IPv6 loopback
		{"10.1.2.3:80", nil, false},                           // private, not allowed by anything
		{"10.1.2.3:80", []string{"10.0.0.0/8"}, true},         // private, in the scenario's allow list
		{"8.8.8.8:53", []string{"8.8.8.0/24"}, false},         // public: a scenario alone cannot admit it
		{"8.8.8.8:53", nil, true},                             // public, named on the command line
		{"198.51.100.7:80", nil, true},                        // in a --allow-target prefix
		{"203.0.113.5:80", nil, false},                        // documentation range, not allowed
		{"[::ffff:127.0.0.1]:80", nil, true},                  // v4-mapped loopback
		{"[2001:db8::1]:80", []string{"2001:db8::/32"}, true}, // documentation v6, scenario allow
		{"203.0.113.5:80", []string{"203.0.113.0/24"}, true},  // documentation v4, scenario allow
		{"169.254.1.2:80", []string{"169.254.0.0/16"}, true},  // link-local, scenario allow
		{"[fd12::1]:80", []string{"fd00::/8"}, true},          // IPv6 ULA, scenario allow
		// A scenario cannot admit these (issue 9 item 25): the cloud
		// metadata service, CGNAT's shared space, the benchmarking range.
		{"169.254.169.254:80", []string{"169.254.0.0/16"}, false},
		{"100.64.1.1:80", []string{"100.64.0.0/10"}, false},
		{"198.18.0.1:80", []string{"198.18.0.0/15"}, false},
		{"0.0.0.0:80", []string{"0.0.0.0/0"}, false}, // the unspecified address is no host
		{"[::]:80", nil, false},
	}
	for _, tt := range tests {
		fa := flag
		if tt.addr == "8.8.8.8:53" && tt.scenario != nil {
			fa = nil
		}
		err := CheckTarget(tt.addr, tt.scenario, fa)
		if got := err == nil; got != tt.ok {
			t.Errorf("CheckTarget(%s, %v) = %v, want allowed=%v", tt.addr, tt.scenario, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrTargetRefused) {
			t.Errorf("CheckTarget(%s) error %v does not wrap ErrTargetRefused", tt.addr, err)
		}
	}
	// The unspecified address is refused as such, not as "public".
	if err := CheckTarget("0.0.0.0:80", nil, nil); err == nil || !strings.Contains(err.Error(), "unspecified") {
		t.Errorf("0.0.0.0: %v, want a refusal naming the unspecified address", err)
	}
	if err := CheckTarget("nonsense", nil, nil); err == nil {
		t.Error("CheckTarget accepted a malformed address")
	}
}

func TestCheckExpectations(t *testing.T) {
	ttf := &schema.Failure{Class: errclass.ClassEADDRNOTAVAIL, AtSec: 2}
	d := func(s string) scenarios.Duration { v, _ := time.ParseDuration(s); return scenarios.Duration(v) }
	tests := []struct {
		name  string
		e     scenarios.Expect
		ttf   *schema.Failure
		unmet int
	}{
		{"any, failure", scenarios.Expect{Failure: "any"}, ttf, 0},
		{"any, none", scenarios.Expect{Failure: "any"}, nil, 0},
		{"required, failure", scenarios.Expect{Failure: "required"}, ttf, 0},
		{"required, none", scenarios.Expect{Failure: "required"}, nil, 1},
		{"forbidden, failure", scenarios.Expect{Failure: "forbidden"}, ttf, 1},
		{"forbidden, none", scenarios.Expect{Failure: "forbidden"}, nil, 0},
		{"max_ttf met", scenarios.Expect{Failure: "any", MaxTTF: d("3s")}, ttf, 0},
		{"max_ttf late", scenarios.Expect{Failure: "any", MaxTTF: d("1s")}, ttf, 1},
		{"max_ttf, no failure at all", scenarios.Expect{Failure: "any", MaxTTF: d("1s")}, nil, 1},
		{"min_ttf early", scenarios.Expect{Failure: "any", MinTTF: d("5s")}, ttf, 1},
		{"required and late", scenarios.Expect{Failure: "required", MaxTTF: d("1s")}, ttf, 1},
	}
	for _, tt := range tests {
		if got := schema.CheckExpectations(tt.e, tt.ttf); len(got) != tt.unmet {
			t.Errorf("%s: unmet = %q, want %d", tt.name, got, tt.unmet)
		}
	}
}
