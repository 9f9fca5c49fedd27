package kinds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/targets"

	"github.com/nobufs/nobufs/scenarios"
)

// churnKind is P2P-like churn: each operation is one connection's life —
// connect to one of many addresses, exchange bursts for a drawn lifetime,
// close by FIN or RST. Draws come from a generator seeded by (load.seed,
// operation index), so a run's connections are the same whichever worker
// runs them.
type churnKind struct {
	sc     *scenarios.Scenario
	c      *scenarios.Churn
	addrs  []string
	dialer *net.Dialer
	seed   uint64

	lifetime, gap, send, reply scenarios.Dist
	// maxLife and maxGap clamp the lifetime and gap draws (ns): the upper
	// bounds of churn.lifetime and churn.gap.
	maxLife, maxGap float64
	payload         []byte   // zeros, the source of every burst
	say             *speaker // scenario.wire: bursts are its payload and reply

	per []churnCounters // by worker ID

	bufOnce        sync.Once
	effSnd, effRcv int // SO_SNDBUF/SO_RCVBUF of the first connection
	// stopped is set by the first operation that sees the run stopping,
	// before it lowers a gauge: samples taken after are not steady state.
	stopped atomic.Bool

	// Sampler-owned (extendSample); report reads them after the sampler ended.
	prev    churnTotals
	prevAt  time.Duration
	samples []openSample
}

// churnCounters are one worker's counts; atomics because the sampler
// reads them every second.
type churnCounters struct {
	connects, closedFIN, closedRST, bursts atomic.Uint64
	lifetimeNs                             atomic.Uint64 // sum of drawn lifetimes
	_                                      [24]byte      // keep workers' counters off one cache line
}

type churnTotals struct{ connects, fin, rst, bursts, lifetimeNs uint64 }

type openSample struct {
	at   time.Duration
	open int64
	// stopped: taken after the run began to stop.
	stopped bool
}

func newChurn(env *workers.Env) (workers.Kind, error) {
	sc, addr := env.Scenario, env.Addr
	c := sc.Churn
	k := &churnKind{sc: sc, c: c, seed: sc.Load.Seed, per: make([]churnCounters, sc.Load.Workers)}
	var err error
	if k.lifetime, k.gap, k.send, k.reply, err = c.Dists(); err != nil {
		return nil, err
	}
	aps, err := scenarios.PeerAddrs(addr, c.Peers)
	if err != nil {
		return nil, fmt.Errorf("churn.peers: %w", err)
	}
	for _, ap := range aps {
		k.addrs = append(k.addrs, ap.String())
	}
	k.maxLife, k.maxGap = boundMax("churn.lifetime"), boundMax("churn.gap")
	k.dialer = workers.NewDialer(sc.Socket, nil)
	k.payload = make([]byte, 64<<10)
	if k.say, err = newSpeaker(env); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *churnKind) Op(ctx context.Context, w *workers.Worker, op uint64) {
	cnt := &k.per[w.ID]
	r := rand.New(rand.NewPCG(k.seed, op))
	life := time.Duration(draw(k.lifetime, r, k.maxLife))
	addr := k.addrs[r.IntN(len(k.addrs))]
	rst := r.Float64() < k.c.RST

	t0 := time.Now()
	c, err := k.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseConnect, err)
		return
	}
	w.Connected(time.Since(t0))
	k.bufOnce.Do(func() { k.effSnd, k.effRcv = workers.BufferSizes(c) })
	cnt.connects.Add(1)
	cnt.lifetimeNs.Add(uint64(life))
	end := time.Now().Add(life)
	ok := k.live(ctx, w, op, c, r, end)
	if ctx.Err() != nil {
		k.stopped.Store(true)
	}
	if rst {
		if tc, isTCP := c.(*net.TCPConn); isTCP {
			_ = tc.SetLinger(0) // close sends RST, no TIME_WAIT
		}
	}
	cerr := c.Close()
	w.Closed()
	if rst {
		cnt.closedRST.Add(1)
	} else {
		cnt.closedFIN.Add(1)
	}
	if !ok {
		return
	}
	if cerr != nil {
		w.Fail(ctx, op, errclass.PhaseClose, cerr)
		return
	}
	w.OK(time.Since(t0))
}

// live exchanges bursts until end: one at once, then one after each drawn
// gap that still ends before end. It reports whether the connection lived
// its whole life: false when a burst failed (recorded on w) and when the
// run stopped first (neither a failure nor a success: the operation is
// counted as aborted).
func (k *churnKind) live(ctx context.Context, w *workers.Worker, op uint64, c net.Conn, r *rand.Rand, end time.Time) bool {
	if err := workers.AfterConnect(c, k.sc.Socket); err != nil {
		w.Fail(ctx, op, errclass.PhaseSetsockopt, err)
		return false
	}
	// Close the socket when the run stops, so a blocked read or write
	// returns at once.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if k.say != nil {
		return k.liveWire(ctx, w, op, c, r, end)
	}
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		send := uint32(draw(k.send, r, targets.ChurnMaxBurst))
		reply := uint32(draw(k.reply, r, targets.ChurnMaxBurst))
		if phase, err := k.burst(c, send, reply, w); err != nil {
			w.Fail(ctx, op, phase, err)
			return false
		}
		k.per[w.ID].bursts.Add(1)
		gap := time.Duration(draw(k.gap, r, k.maxGap))
		wait, last := gap, false
		if left := time.Until(end); left <= gap {
			wait, last = left, true
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return false
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			return false
		}
		if last {
			return true
		}
		// The server may have closed the connection during the gap.
		if err := closedByPeer(c); err != nil {
			w.Fail(ctx, op, errclass.PhaseRecv, err)
			return false
		}
	}
}

// burst sends one framed burst of send bytes and reads the reply bytes.
func (k *churnKind) burst(c net.Conn, send, reply uint32, w *workers.Worker) (errclass.Phase, error) {
	if err := c.SetDeadline(time.Now().Add(k.sc.Socket.IOTimeout.D())); err != nil {
		return errclass.PhaseSend, err
	}
	var hdr [targets.ChurnHeaderLen]byte
	targets.PutChurnHeader(hdr[:], send, reply)
	first := min(int(send), len(k.payload))
	bufs := net.Buffers{hdr[:], k.payload[:first]}
	if _, err := bufs.WriteTo(c); err != nil {
		return errclass.PhaseSend, err
	}
	for left := int(send) - first; left > 0; {
		n, err := c.Write(k.payload[:min(left, len(k.payload))])
		left -= n
		if err != nil {
			return errclass.PhaseSend, err
		}
	}
	n, err := io.CopyN(io.Discard, c, int64(reply))
	w.Bytes(targets.ChurnHeaderLen+int(send), int(n))
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // the peer closed mid-reply
	}
	if err != nil {
		return errclass.PhaseRecv, err
	}
	return "", nil
}

func (k *churnKind) totals() churnTotals {
	var t churnTotals
	for i := range k.per {
		p := &k.per[i]
		t.connects += p.connects.Load()
		t.fin += p.closedFIN.Load()
		t.rst += p.closedRST.Load()
		t.bursts += p.bursts.Load()
		t.lifetimeNs += p.lifetimeNs.Load()
	}
	return t
}

// Sample adds this interval's connects, closes and bursts, and the
// connections open now, to the timeline.
func (k *churnKind) Sample(elapsed time.Duration) map[string]any {
	t := k.totals()
	open := int64(t.connects) - int64(t.fin+t.rst)
	// Read after the gauges: an operation sets stopped before lowering them.
	k.samples = append(k.samples, openSample{at: elapsed, open: open, stopped: k.stopped.Load()})
	d := t.connects - k.prev.connects
	rate := 0.0
	if dt := (elapsed - k.prevAt).Seconds(); dt > 0 {
		rate = float64(d) / dt
	}
	m := map[string]any{
		"connects":         d,
		"connects_per_sec": rate,
		"closed_fin":       t.fin - k.prev.fin,
		"closed_rst":       t.rst - k.prev.rst,
		"bursts":           t.bursts - k.prev.bursts,
		"open":             open,
	}
	k.prev, k.prevAt = t, elapsed
	return m
}

func (k *churnKind) Report(s *schema.Summary) {
	t := k.totals()
	r := &schema.ChurnReport{
		Peers:     len(k.addrs),
		FirstPeer: k.addrs[0],
		LastPeer:  k.addrs[len(k.addrs)-1],
		Connects:  t.connects,
		ClosedFIN: t.fin,
		ClosedRST: t.rst,
		Bursts:    t.bursts,
	}
	if s.ElapsedSec > 0 {
		r.ConnectsPerSec = float64(t.connects) / s.ElapsedSec
	}
	if n := t.connects; n > 0 {
		r.MeanLifetimeSec = time.Duration(t.lifetimeNs / n).Seconds()
	}
	r.SteadyOpen = steadyStats(k.samples, s.ElapsedSec)
	s.Churn = r
	k.say.report(s)
	s.Socket.EffectiveSndBuf, s.Socket.EffectiveRcvBuf = k.effSnd, k.effRcv
}

func (k *churnKind) Close() {}

// steadyStats summarises a gauge's samples of the second half of a run
// (the first half is the ramp up to the steady state), leaving out samples
// taken while the run was stopping and the last one, which the engine takes
// after the workers stopped; nil when no sample falls there.
func steadyStats(samples []openSample, elapsedSec float64) *schema.GaugeStats {
	if len(samples) < 2 {
		return nil
	}
	half := time.Duration(elapsedSec / 2 * float64(time.Second))
	var g *schema.GaugeStats
	var sum int64
	for _, smp := range samples[:len(samples)-1] {
		if smp.at < half || smp.stopped {
			continue
		}
		if g == nil {
			g = &schema.GaugeStats{Min: smp.open, Max: smp.open}
		}
		g.Samples++
		sum += smp.open
		g.Min, g.Max = min(g.Min, smp.open), max(g.Max, smp.open)
	}
	if g != nil {
		g.Mean = float64(sum) / float64(g.Samples)
	}
	return g
}

// boundMax returns the upper bound of a scenario field's allowed range in
// the field's unit (nanoseconds for durations).
func boundMax(path string) float64 { return scenarios.Bounds[path].Max }
