package scenarios

import "time"

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
}

func validateHalfOpen(v *validator, s *Scenario) {
	h := s.HalfOpen
	v.num("half_open.backlog", float64(h.Backlog))
	v.num("half_open.max_pending", float64(h.MaxPending))
	v.num("half_open.max_new_per_sec", h.MaxNewPerSec)
	v.num("half_open.hold", float64(h.Hold))
	if s.Target.Builtin == TargetChurnPeer {
		v.add("target.builtin", "kind half-open cannot use target.builtin: churn-peer (it waits for a framed burst); use never-accept, or sink/accept-close/echo as a control")
	}
}

var halfOpenSpec = KindSpec{
	Name:    KindHalfOpen,
	Section: "half_open",
	Defaults: func(s *Scenario) {
		s.HalfOpen = &HalfOpen{Backlog: 1, Hold: Duration(30 * time.Second)}
		s.Failure.Classes = []string{"deadline", "etimedout", "econnrefused", "ehostunreach", "enetunreach"}
		s.Stop.OnFailure = false
	},
	DefaultTarget: func(*Scenario) string { return TargetNeverAccept },
	Validate:      validateHalfOpen,
	TargetOptions: func(s *Scenario) TargetOptions { return TargetOptions{Backlog: s.HalfOpen.Backlog} },
}
