package workers

import (
	"time"

	"github.com/nobufs/nobufs/workers/errclass"
)

// StallKey is the error a stalled run records (stop.stall): no phase of
// its own, class stall, no code.
var StallKey = errclass.ErrorKey{Phase: errclass.PhaseOther, Class: errclass.ClassStall}

// stallWatch is the stop.stall watchdog. The sampler calls check at each
// sample: when no operation ended well and no byte moved, out or in, since
// the last sample that saw progress, for at least stop.stall, it records
// one StallKey error and waits for progress before it can record another.
// It runs on the sampler's goroutine only.
type stallWatch struct {
	okSum, outSum, inSum uint64
	last                 time.Duration // when progress was last seen
	stalled              bool
}

// check looks at the run's progress at elapsed (since the load started).
func (s *stallWatch) check(r *run, elapsed time.Duration) {
	bound := r.sc.Stop.Stall.D()
	if bound <= 0 || len(r.workers) == 0 {
		return
	}
	var ok, out, in uint64
	for _, w := range r.workers {
		ok += w.ok.Load()
		out += w.bytesOut.Load()
		in += w.bytesIn.Load()
	}
	if ok != s.okSum || out != s.outSum || in != s.inSum {
		s.okSum, s.outSum, s.inSum = ok, out, in
		s.last, s.stalled = elapsed, false
		return
	}
	if s.stalled || elapsed-s.last < bound {
		return
	}
	s.stalled = true
	op := min(r.issued.Load(), r.sc.Stop.MaxOps)
	// On the signals' table, as what the watchers see: a stall is in the
	// error table but no operation's outcome, so not a failed operation.
	if r.signals.w.note(StallKey, elapsed, op) {
		r.firstError(StallKey, elapsed, op)
	}
}

// note counts one error of key k on w's table that is no operation's
// outcome (the failed count sums the load's workers' tables, not this
// one's); it reports whether it was the key's first occurrence on w.
func (w *Worker) note(k errclass.ErrorKey, at time.Duration, op uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.errs[k]
	if st == nil {
		st = &liveStat{key: k, firstAt: at, firstOp: op}
		w.errs[k] = st
	}
	return st.count.Add(1) == 1
}
