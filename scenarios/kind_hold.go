package scenarios

import (
	"fmt"
	"net/netip"
)

// KindHold opens many connections at the pace load.workers connects in
// flight allow and holds them idle until the run ends, counting those the
// server closes.
const KindHold = "hold"

// Hold is the hold kind: open Connections connections to Peers
// consecutive loopback addresses (or to target.address), keep them open
// and idle for the run (stop.duration), and count what the server closes
// or resets. Each operation is one connection opened; it succeeds when the
// connect completes. On Linux the client holds them on an event loop
// (workers/netpoll), a few bytes each, and the built-in sink and
// non-reader hold their side the same way.
type Hold struct {
	// Connections is how many connections the run opens (all segments
	// together: each segment opens its share).
	Connections int `yaml:"connections" json:"connections"`
	// Peers is how many destination addresses the connections are spread
	// over: the target's address and the next Peers-1 IPv4 loopback
	// addresses, same port; the built-in target listens on all of them.
	// More destinations give more 4-tuples than one address's ephemeral
	// ports.
	Peers int `yaml:"peers" json:"peers"`
}

func validateHold(v *validator, s *Scenario) {
	h := s.Hold
	v.num("hold.connections", float64(h.Connections))
	v.num("hold.peers", float64(h.Peers))
	if s.Load.Model == ModelOpen {
		v.add("load.model", "kind hold paces its connects by load.workers in flight; use load.model: closed")
	}
	if b := s.Target.Builtin; b != "" && b != TargetSink && b != TargetNonReader {
		v.add("target.builtin", fmt.Sprintf("kind hold needs a target that keeps connections open (%s or %s), got %s", TargetSink, TargetNonReader, b))
	}
	if h.Peers > 1 && s.Cell != nil {
		v.add("hold.peers", fmt.Sprintf("hold.peers: %d peers need consecutive loopback addresses, and a cell's target side has one address; set hold.peers: 1 in a cell", h.Peers))
	} else if h.Peers > 1 {
		base, path := s.Target.Listen, "target.listen"
		if s.Target.Address != "" {
			base, path = s.Target.Address, "target.address"
		}
		if _, err := netip.ParseAddrPort(base); err == nil {
			if _, err := PeerAddrs(base, h.Peers); err != nil {
				v.add("hold.peers", fmt.Sprintf("hold.peers: %v (%s is %s)", err, path, base))
			}
		}
	}
}

var holdSpec = KindSpec{
	Name:    KindHold,
	Section: "hold",
	Defaults: func(s *Scenario) {
		s.Hold = &Hold{Connections: 1000, Peers: 1}
		s.Load.Workers = 64
	},
	DefaultTarget: func(*Scenario) string { return TargetSink },
	Validate:      validateHold,
	TargetOptions: func(s *Scenario) TargetOptions { return TargetOptions{Peers: s.Hold.Peers} },
	Scale: func(s *Scenario, share func(int) int) {
		h := *s.Hold
		h.Connections = share(h.Connections)
		s.Hold = &h
	},
}
