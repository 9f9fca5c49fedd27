package kinds

import (
	"cmp"
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// halfOpenKind keeps connects in flight against a target that does not
// complete them. Each operation is one connect: it waits for a pending
// slot (half_open.max_pending) and a start slot (half_open.max_new_per_sec),
// then stays pending until the handshake completes or fails; a completed
// connection is held for half_open.hold, then closed.
type halfOpenKind struct {
	sc     *scenarios.Scenario
	h      *scenarios.HalfOpen
	addr   string
	dialer *net.Dialer
	// queue reads the built-in target's accept queue, when it can.
	queue workers.AcceptQueuer
	say   *speaker // scenario.wire: said once the handshake completed

	slots chan struct{} // max_pending; nil: no cap
	pace  *startPacer   // max_new_per_sec; nil: no cap

	per []halfOpenCounters // by worker ID

	bufOnce        sync.Once
	effSnd, effRcv int // SO_SNDBUF/SO_RCVBUF of the first completed connection
	// stopped is set by the first operation that sees the run stopping,
	// before it lowers a gauge: samples taken after are not a plateau.
	stopped atomic.Bool

	// Sampler-owned; report reads them after the sampler ended.
	prev        halfOpenTotals
	samples     []openSample // pending connects
	pendingPeak int64
	heldPeak    int64
}

type halfOpenCounters struct {
	started, completed atomic.Uint64
	pending, waiting   atomic.Int64
	held               atomic.Int64
	// outcomes is owned by the worker's goroutine; read after it exited.
	outcomes map[errclass.Class]*timing
	_        [16]byte
}

type timing struct {
	n             uint64
	sum, min, max time.Duration
}

func (t *timing) add(d time.Duration) {
	if t.n == 0 || d < t.min {
		t.min = d
	}
	t.max = max(t.max, d)
	t.sum += d
	t.n++
}

type halfOpenTotals struct {
	started, completed     uint64
	pending, waiting, held int64
}

// classCompleted is the outcome name of a connect whose handshake completed.
const classCompleted errclass.Class = "completed"

// startPacer spaces connect starts at least every apart, across workers.
type startPacer struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
}

// reserve returns when the caller may start its connect.
func (p *startPacer) reserve() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(p.every)
	return at
}

func newHalfOpen(env *workers.Env) (workers.Kind, error) {
	sc := env.Scenario
	h := sc.HalfOpen
	k := &halfOpenKind{sc: sc, h: h, addr: env.Addr, dialer: workers.NewDialer(sc.Socket, nil),
		per: make([]halfOpenCounters, sc.Load.Workers)}
	for i := range k.per {
		k.per[i].outcomes = map[errclass.Class]*timing{}
	}
	k.queue, _ = env.Target.(workers.AcceptQueuer)
	if h.MaxPending > 0 {
		k.slots = make(chan struct{}, h.MaxPending)
	}
	if h.MaxNewPerSec > 0 {
		k.pace = &startPacer{every: time.Duration(float64(time.Second) / h.MaxNewPerSec)}
	}
	var err error
	if k.say, err = newSpeaker(env); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *halfOpenKind) Op(ctx context.Context, w *workers.Worker, op uint64) {
	cnt := &k.per[w.ID]
	if !k.admit(ctx, cnt) {
		return
	}
	cnt.started.Add(1)
	cnt.pending.Add(1)
	t0 := time.Now()
	c, err := k.dialer.DialContext(ctx, "tcp", k.addr)
	d := time.Since(t0)
	if ctx.Err() != nil {
		k.stopped.Store(true)
	}
	cnt.pending.Add(-1)
	if k.slots != nil {
		<-k.slots
	}
	if err != nil {
		if w.Fail(ctx, op, errclass.PhaseConnect, err) {
			k.outcome(cnt, errclass.Classify(err, errclass.PhaseConnect).Class, d)
		}
		return
	}
	w.Connected(d)
	k.bufOnce.Do(func() { k.effSnd, k.effRcv = workers.BufferSizes(c) })
	cnt.completed.Add(1)
	k.outcome(cnt, classCompleted, d)
	cnt.held.Add(1)
	// Held: say the first word, then keep the connection, reading what
	// comes, so that the server closing it (FIN: eof, RST: econnreset;
	// phase recv) is seen and counted when it comes.
	var lived bool
	if phase, serr := k.say.say(ctx, w, c); serr != nil {
		w.Fail(ctx, op, phase, serr)
	} else {
		// A run that stops during the hold ends it as before: not a failure.
		lived = hold(ctx, w, op, c, time.Now().Add(k.h.Hold.D())) || ctx.Err() != nil
	}
	if ctx.Err() != nil {
		k.stopped.Store(true)
	}
	cnt.held.Add(-1)
	err = c.Close()
	w.Closed()
	if !lived {
		return
	}
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseClose, err)
		return
	}
	w.OK(time.Since(t0))
}

// admit waits for a pending slot and a start slot; false when the run
// stopped first (nothing is held then).
func (k *halfOpenKind) admit(ctx context.Context, cnt *halfOpenCounters) bool {
	if k.slots == nil && k.pace == nil {
		return true
	}
	cnt.waiting.Add(1)
	defer cnt.waiting.Add(-1)
	if k.slots != nil {
		select {
		case k.slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
	}
	if k.pace != nil {
		if wait := time.Until(k.pace.reserve()); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				if k.slots != nil {
					<-k.slots
				}
				return false
			}
		}
	}
	return true
}

func (k *halfOpenKind) outcome(cnt *halfOpenCounters, c errclass.Class, d time.Duration) {
	t := cnt.outcomes[c]
	if t == nil {
		t = &timing{}
		cnt.outcomes[c] = t
	}
	t.add(d)
}

func (k *halfOpenKind) totals() halfOpenTotals {
	var t halfOpenTotals
	for i := range k.per {
		p := &k.per[i]
		t.started += p.started.Load()
		t.completed += p.completed.Load()
		t.pending += p.pending.Load()
		t.waiting += p.waiting.Load()
		t.held += p.held.Load()
	}
	return t
}

// Sample adds the connects pending, waiting and held now, and this
// interval's starts and completions, to the timeline; with a never-accept
// target on Linux also its accept queue.
func (k *halfOpenKind) Sample(elapsed time.Duration) map[string]any {
	t := k.totals()
	// Read after the gauges: an operation sets stopped before lowering them.
	k.samples = append(k.samples, openSample{at: elapsed, open: t.pending, stopped: k.stopped.Load()})
	k.pendingPeak = max(k.pendingPeak, t.pending)
	k.heldPeak = max(k.heldPeak, t.held)
	m := map[string]any{
		"pending":   t.pending,
		"waiting":   t.waiting,
		"held":      t.held,
		"started":   t.started - k.prev.started,
		"completed": t.completed - k.prev.completed,
	}
	if k.queue != nil {
		if q, _, ok := k.queue.AcceptQueue(); ok {
			m["accept_queue"] = q
		}
	}
	k.prev = t
	return m
}

func (k *halfOpenKind) Report(s *schema.Summary) {
	t := k.totals()
	r := &schema.HalfOpenReport{
		Started:        t.started,
		Completed:      t.completed,
		PendingPeak:    k.pendingPeak,
		PendingPlateau: steadyStats(k.samples, s.ElapsedSec),
		HeldPeak:       k.heldPeak,
	}
	if s.ElapsedSec > 0 {
		r.StartsPerSec = float64(t.started) / s.ElapsedSec
	}
	all := map[errclass.Class]*timing{}
	for i := range k.per {
		for c, tm := range k.per[i].outcomes {
			a := all[c]
			if a == nil {
				a = &timing{min: tm.min}
				all[c] = a
			}
			a.n += tm.n
			a.sum += tm.sum
			a.min, a.max = min(a.min, tm.min), max(a.max, tm.max)
		}
	}
	for c, tm := range all {
		r.Outcomes = append(r.Outcomes, schema.ClassTiming{Class: c, Count: tm.n, MinSec: tm.min.Seconds(),
			MeanSec: (tm.sum / time.Duration(tm.n)).Seconds(), MaxSec: tm.max.Seconds()})
	}
	slices.SortFunc(r.Outcomes, func(a, b schema.ClassTiming) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Class, b.Class))
	})
	if k.queue != nil {
		if q, l, ok := k.queue.AcceptQueue(); ok {
			r.AcceptQueue, r.AcceptBacklog = &q, &l
		}
	}
	s.HalfOpen = r
	k.say.report(s)
	s.Socket.EffectiveSndBuf, s.Socket.EffectiveRcvBuf = k.effSnd, k.effRcv
}

func (k *halfOpenKind) Close() {}
