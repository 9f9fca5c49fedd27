package workers

import (
	"errors"
	"net"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// Target is what the load is sent to when the engine starts it: a
// built-in target (package workers/targets has one type per mode) or, in
// time, a program launched for the run.
type Target interface {
	// Addr is where the load goes (the first address for a target on
	// several).
	Addr() net.Addr
	// Info describes the target for the summary: its mode, address and
	// what it counted. After Close it is final.
	Info() schema.TargetInfo
	// Kill stops the target as if its process had been killed: every
	// open connection is reset. Close after Kill is a no-op.
	Kill()
	// Close stops the target and waits for everything it started. It is
	// safe to call more than once.
	Close()
}

// NewTarget starts a target of one mode listening on listen with the
// scenario's target settings.
type NewTarget func(listen string, o scenarios.TargetOptions) (Target, error)

// AcceptQueuer is implemented by targets that can read their listener's
// accept queue: connections completed and waiting for accept, and the
// most it holds (Linux).
type AcceptQueuer interface {
	AcceptQueue() (queued, limit int, ok bool)
}

// SendQueuer is implemented by targets that can read their own sockets'
// send queues: the bytes the server side holds for its clients, and over
// how many sockets (Linux).
type SendQueuer interface {
	SendQueue() (queued int64, sockets int, ok bool)
}

// ErrTargetRefused is returned (wrapped) when a target address is outside
// loopback and the allowed prefixes.
var ErrTargetRefused = errors.New("target refused")
