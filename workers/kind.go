package workers

import (
	"context"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// Kind is one workload: it performs operations for the workers. A kind is
// built per run by its NewKind (package workers/kinds holds the table)
// and is used from many worker goroutines at once.
type Kind interface {
	// Op performs operation number op (1-based, global: see Options.Ops)
	// for worker w. It records its outcome on w (OK, Fail,
	// Connected/Closed, Bytes) and returns.
	Op(ctx context.Context, w *Worker, op uint64)
	// Report adds the kind's own results (its section) to the summary;
	// called once, after every worker exited and the counts are in.
	Report(s *schema.Summary)
	// Close releases what the kind holds; called after Report.
	Close()
}

// Sampler is implemented by kinds that add their own gauges to each
// timeline sample (under "extra"). It is called from the sampler
// goroutine once per interval, concurrently with the workers.
type Sampler interface {
	Sample(elapsed time.Duration) map[string]any
}

// Looper is implemented by kinds that keep many operations in flight on
// one goroutine, an event loop (workers/netpoll), instead of one
// goroutine per operation. In the closed model the engine then runs
// min(GOMAXPROCS, load.workers) loops instead of the workers: each gets
// a worker of its own and its share of load.workers as the operations it
// keeps in flight, and takes each operation's index from next, which
// returns false once the run stops issuing (duration, max_ops, failure,
// interrupt). Loop returns when it has no operation in flight and next
// said no, or when ctx ends; it records outcomes on w as Op does. In the
// open model the engine calls Op.
type Looper interface {
	Loop(ctx context.Context, w *Worker, inflight int, next func() (op uint64, ok bool))
}

// NewKind builds a kind for one run.
type NewKind func(env *Env) (Kind, error)

// Env is what the engine gives a kind: the scenario, where the load goes,
// the built-in target, the run's clock and first failure, and the way to
// make sockets on the run's client side. A kind keeps it for the run.
type Env struct {
	Scenario *scenarios.Scenario
	// Addr is where the load goes: the built-in target's address, or
	// target.address.
	Addr string
	// Target is the built-in target; nil for an external one. Optional
	// capabilities (AcceptQueuer, SendQueuer) are found by assertion.
	Target Target

	run *run
}

// Since returns the time since the load started. Valid once the first
// operation has been issued (not in the kind's constructor).
func (e *Env) Since() time.Duration { return time.Since(e.run.start) }

// TimeToFailure returns the run's first failure so far, nil when none.
// It is cheap enough to call on every operation.
func (e *Env) TimeToFailure() *schema.Failure { return e.run.ttf.Load() }

// InClient runs fn so that the sockets it creates land on the run's client
// side: in a lab cell on a fresh thread inside the client namespace
// (discarded afterwards), otherwise on the calling goroutine. A kind calls
// it when it creates sockets outside the worker goroutine running Op.
func (e *Env) InClient(fn func()) error { return onThreadIn(e.run.enterClient(), fn) }
