package scenarios

import (
	"fmt"
	"time"
)

// Half-open modes: which queue of the server the connects fill.
const (
	// HalfOpenAcceptQueue: handshakes complete; against a listener that
	// does not accept, the accept queue fills (backlog + 1), then SYNs are
	// dropped.
	HalfOpenAcceptQueue = "accept-queue"
	// HalfOpenSynQueue: in a lab cell, the client side drops the server's
	// SYN-ACKs (an nft rule in the client namespace), so no handshake
	// completes and the server holds each connection in SYN_RECV: its SYN
	// queue fills (tcp_max_syn_backlog), then cookies or drops.
	HalfOpenSynQueue = "syn-queue"
)

// HalfOpen is the half-open kind: connects kept in flight against a target
// that never completes them. Each operation is one connect: it stays
// pending until the handshake completes, the kernel gives up, or
// socket.connect_timeout expires; a connection that completes is held for
// Hold, then closed.
type HalfOpen struct {
	// Backlog is the listen backlog of the built-in never-accept target.
	Backlog int `yaml:"backlog" json:"backlog"`
	// MaxPending caps the connects pending at once (0: only load.workers
	// caps them); a connect over the cap waits for a slot, as Windows XP
	// SP2 queued a process's 11th incomplete connect.
	MaxPending int `yaml:"max_pending" json:"max_pending"`
	// MaxNewPerSec caps how many connects start per second (0: no cap).
	MaxNewPerSec float64 `yaml:"max_new_per_sec" json:"max_new_per_sec"`
	// Hold is how long a completed connection is kept open before close.
	Hold Duration `yaml:"hold" json:"hold"`
	// Mode is HalfOpenAcceptQueue or HalfOpenSynQueue.
	Mode string `yaml:"mode" json:"mode"`
}

func validateHalfOpen(v *validator, s *Scenario) {
	h := s.HalfOpen
	v.num("half_open.backlog", float64(h.Backlog))
	v.num("half_open.max_pending", float64(h.MaxPending))
	v.num("half_open.max_new_per_sec", h.MaxNewPerSec)
	v.num("half_open.hold", float64(h.Hold))
	v.enum("half_open.mode", h.Mode)
	if h.Mode == HalfOpenSynQueue && s.Cell == nil {
		v.add("half_open.mode", fmt.Sprintf("half_open.mode: %s drops the server's SYN-ACKs on the client side of a lab cell; add a cell section", HalfOpenSynQueue))
	}
	if s.Target.Builtin == TargetChurnPeer {
		v.add("target.builtin", "kind half-open cannot use target.builtin: churn-peer (it waits for a framed burst); use never-accept, or sink/accept-close/echo as a control")
	}
}

var halfOpenSpec = KindSpec{
	Name:    KindHalfOpen,
	Section: "half_open",
	Defaults: func(s *Scenario) {
		s.HalfOpen = &HalfOpen{Backlog: 1, Hold: Duration(30 * time.Second), Mode: HalfOpenAcceptQueue}
		s.Failure.Classes = []string{"deadline", "etimedout", "econnrefused", "ehostunreach", "enetunreach"}
		s.Stop.OnFailure = false
	},
	DefaultTarget: func(*Scenario) string { return TargetNeverAccept },
	Validate:      validateHalfOpen,
	TargetOptions: func(s *Scenario) TargetOptions { return TargetOptions{Backlog: s.HalfOpen.Backlog} },
}
