package kinds

import (
	"cmp"
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// How a dead-peer connection ended.
const (
	endOpen   = "open"   // still open when the run ended
	endError  = "error"  // a write error other than the deadline
	endReaped = "reaped" // closed by the reaper
)

// deadPeerKind keeps one connection per worker to a peer that stops
// reading or vanishes. Each operation is one write of dead_peer.chunk bytes
// with a write deadline of socket.io_timeout; a write that hits it is a
// blocked write (class deadline, phase send) and the connection is kept.
// After any other write error the next operation writes once more (to see
// what the kernel says next: ETIMEDOUT then EPIPE, ECONNRESET then EPIPE)
// and, if that fails too, ends the connection; the worker dials again after
// dead_peer.redial_after.
type deadPeerKind struct {
	sc      *scenarios.Scenario
	p       *scenarios.DeadPeer
	addr    string
	env     *workers.Env
	dialer  *net.Dialer
	payload []byte
	say     *speaker // scenario.wire: said after each connect

	// per[i] is worker i's state; owned by that worker's goroutine.
	per []peerWorker

	blocked atomic.Uint64
	opened  atomic.Uint64

	bufOnce        sync.Once
	effSnd, effRcv int

	reaperOnce sync.Once
	reaperWG   sync.WaitGroup

	mu          sync.Mutex
	live        map[*peerConn]struct{}
	retired     []schema.SocketStat
	peakTotal   int64
	peakAt      time.Duration
	reaps       []schema.Reap
	reapCount   uint64
	reapBytes   int64
	measureErrs uint64
	// sumTotal and measurements give the mean total over all measurements.
	sumTotal     float64
	measurements uint64
}

// peerWorker is one worker's side of the dead-peer kind.
type peerWorker struct {
	pc      *peerConn
	endedAt time.Time // when its last connection ended or dial failed
}

// peerConn is one connection of the dead-peer kind.
type peerConn struct {
	c       *net.TCPConn
	raw     syscall.RawConn
	stop    func() bool // unregisters the run-stop hook
	reaped  atomic.Bool
	written atomic.Uint64
	// broken is set by the owning worker after a write error other than
	// the deadline.
	broken bool

	// under deadPeerKind.mu
	peak schema.SocketStat
}

func newDeadPeer(env *workers.Env) (workers.Kind, error) {
	sc := env.Scenario
	k := &deadPeerKind{sc: sc, p: sc.DeadPeer, addr: env.Addr, env: env, live: map[*peerConn]struct{}{}}
	k.dialer = workers.NewDialer(sc.Socket, nil)
	k.payload = make([]byte, k.p.Chunk)
	for i := range k.payload {
		k.payload[i] = byte('a' + i%26)
	}
	var err error
	if k.say, err = newSpeaker(env); err != nil {
		return nil, err
	}
	if k.say != nil && k.say.repeat {
		k.say.fill(k.payload) // every write is the payload, again and again
	}
	k.per = make([]peerWorker, sc.Load.Workers)
	return k, nil
}

func (k *deadPeerKind) Op(ctx context.Context, w *workers.Worker, op uint64) {
	if k.p.Reaper.MaxQueued > 0 {
		k.reaperOnce.Do(func() {
			k.reaperWG.Add(1)
			go k.reaper(ctx)
		})
	}
	pw := &k.per[w.ID]
	if pw.pc == nil {
		if !k.dial(ctx, w, pw, op) {
			return
		}
	}
	pc := pw.pc
	if pc.reaped.Load() {
		k.end(w, pw, endReaped)
		return
	}
	// The server closed the connection (its FIN): the end of this one.
	if !pc.broken {
		if err := peekFIN(pc.raw); err != nil {
			w.Fail(ctx, op, errclass.PhaseRecv, err)
			k.end(w, pw, endError)
			return
		}
	}
	t0 := time.Now()
	if err := pc.c.SetWriteDeadline(t0.Add(k.sc.Socket.IOTimeout.D())); err != nil {
		if pc.reaped.Load() {
			k.end(w, pw, endReaped)
			return
		}
		w.Fail(ctx, op, errclass.PhaseSend, err)
		k.end(w, pw, endError)
		return
	}
	n, err := pc.c.Write(k.payload)
	if n > 0 {
		pc.written.Add(uint64(n))
		w.Bytes(n, 0)
	}
	switch {
	case err == nil:
		w.OK(time.Since(t0))
		pc.broken = false
	case pc.reaped.Load():
		k.end(w, pw, endReaped)
	case ctx.Err() != nil:
		// The run stopped during the write: not a failure.
	case errors.Is(err, os.ErrDeadlineExceeded): // not isDeadline: ETIMEDOUT is a Timeout() too
		k.blocked.Add(1)
		w.Fail(ctx, op, errclass.PhaseSend, err)
	default:
		w.Fail(ctx, op, errclass.PhaseSend, err)
		if pc.broken {
			k.end(w, pw, endError)
		} else {
			pc.broken = true
		}
	}
}

// dial opens worker w's connection, once redial_after has passed since its
// last one ended; false when it failed or the run stopped.
func (k *deadPeerKind) dial(ctx context.Context, w *workers.Worker, pw *peerWorker, op uint64) bool {
	tc, raw, ok := redialer{k.dialer, k.addr, k.sc.Socket, k.p.RedialAfter.D()}.dial(ctx, w, op, &pw.endedAt)
	if !ok {
		return false
	}
	c := net.Conn(tc)
	k.opened.Add(1)
	k.bufOnce.Do(func() { k.effSnd, k.effRcv = workers.BufferSizes(c) })
	pc := &peerConn{c: tc, raw: raw}
	// A write blocked when the run stops returns at once.
	pc.stop = context.AfterFunc(ctx, func() { _ = tc.SetWriteDeadline(time.Now()) })
	pc.peak = schema.SocketStat{Local: c.LocalAddr().String(), Remote: c.RemoteAddr().String(), Worker: w.ID,
		OpenedAtSec: w.Since().Seconds(), End: endOpen}
	k.mu.Lock()
	k.live[pc] = struct{}{}
	k.mu.Unlock()
	pw.pc = pc
	if phase, err := k.say.say(ctx, w, c); err != nil {
		w.Fail(ctx, op, phase, err)
		k.end(w, pw, endError)
		return false
	}
	return true
}

// end closes worker w's connection (the reaper already closed a reaped
// one) and retires its record.
func (k *deadPeerKind) end(w *workers.Worker, pw *peerWorker, how string) {
	pc := pw.pc
	pw.pc = nil
	pw.endedAt = time.Now()
	pc.stop()
	_ = pc.c.Close()
	w.Closed()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.retireLocked(pc, how, w.Since())
}

// retireLocked moves pc from the live set to the retired records, keeping
// only as many retired records as the summary can list.
func (k *deadPeerKind) retireLocked(pc *peerConn, how string, at time.Duration) {
	if _, ok := k.live[pc]; !ok {
		return
	}
	delete(k.live, pc)
	st := pc.peak
	st.End, st.EndedAtSec, st.Written = how, at.Seconds(), pc.written.Load()
	k.retired = append(k.retired, st)
	if len(k.retired) > 4*k.p.Top+64 {
		sortSocketStats(k.retired)
		k.retired = slices.Clip(k.retired[:k.p.Top])
	}
}

// measureLocked reads every live socket's send queue, updates each
// socket's peak and the run's peak total, and returns the total and the
// sockets sorted by queued bytes, most first.
func (k *deadPeerKind) measureLocked(at time.Duration) (int64, []measured) {
	var total int64
	ms := make([]measured, 0, len(k.live))
	for pc := range k.live {
		if pc.reaped.Load() {
			continue
		}
		var si workers.SockInfo
		var serr error
		if err := pc.raw.Control(func(fd uintptr) { si, serr = workers.SockQueue(fd) }); err != nil || serr != nil {
			k.measureErrs++
			continue
		}
		total += si.Queued
		ms = append(ms, measured{pc: pc, info: si})
		// >=: at equal queues, keep the latest TCP_INFO.
		if si.Queued >= pc.peak.Queued || pc.peak.State == "" {
			pc.peak.Queued, pc.peak.Unacked, pc.peak.NotSent, pc.peak.SndWnd, pc.peak.State = si.Queued, si.Unacked, si.NotSent, si.SndWnd, si.State
			pc.peak.PeakAtSec = at.Seconds()
		}
	}
	if total > k.peakTotal {
		k.peakTotal, k.peakAt = total, at
	}
	k.sumTotal += float64(total)
	k.measurements++
	// Most queued first; among equals the oldest (the reaper's choice).
	slices.SortFunc(ms, func(a, b measured) int {
		return cmp.Or(cmp.Compare(b.info.Queued, a.info.Queued), cmp.Compare(a.pc.peak.OpenedAtSec, b.pc.peak.OpenedAtSec))
	})
	return total, ms
}

type measured struct {
	pc   *peerConn
	info workers.SockInfo
}

// reaper closes the socket holding the most queued bytes, as long as the
// total passes dead_peer.reaper.max_queued, every reaper.every until ctx ends.
func (k *deadPeerKind) reaper(ctx context.Context) {
	defer k.reaperWG.Done()
	t := time.NewTicker(k.p.Reaper.Every.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.reapOnce(k.env.Since())
	}
}

func (k *deadPeerKind) reapOnce(at time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	total, ms := k.measureLocked(at)
	for _, m := range ms {
		if total <= k.p.Reaper.MaxQueued {
			return
		}
		m.pc.reaped.Store(true)
		// RST frees the queue at once; a plain close would leave an
		// orphan that still holds it.
		_ = m.pc.c.SetLinger(0)
		_ = m.pc.c.Close()
		total -= m.info.Queued
		k.reapCount++
		k.reapBytes += m.info.Queued
		if len(k.reaps) < maxReapsListed {
			k.reaps = append(k.reaps, schema.Reap{AtSec: at.Seconds(), Local: m.pc.peak.Local, Remote: m.pc.peak.Remote,
				Worker: m.pc.peak.Worker, Freed: m.info.Queued, TotalAfter: total})
		}
	}
}

// maxReapsListed bounds the reaps the summary lists one by one.
const maxReapsListed = 1000

func (k *deadPeerKind) Sample(at time.Duration) map[string]any {
	k.mu.Lock()
	defer k.mu.Unlock()
	total, ms := k.measureLocked(at)
	top := make([]map[string]any, 0, 3)
	for _, m := range ms[:min(3, len(ms))] {
		top = append(top, map[string]any{"local": m.pc.peak.Local, "remote": m.pc.peak.Remote, "queued": m.info.Queued,
			"unacked": m.info.Unacked, "notsent": m.info.NotSent, "snd_wnd": m.info.SndWnd, "state": m.info.State})
	}
	if !workers.SockInfoSupported { // no queues to show: say so rather than show zeros
		return map[string]any{"diagnostics": false, "blocked_writes": k.blocked.Load()}
	}
	return map[string]any{"queued_bytes": total, "sockets": len(ms), "top": top,
		"blocked_writes": k.blocked.Load(), "reaped": k.reapCount}
}

func (k *deadPeerKind) Report(s *schema.Summary) {
	k.reaperWG.Wait() // the run's context has ended: the reaper has returned or is returning
	k.mu.Lock()
	defer k.mu.Unlock()
	if workers.SockInfoSupported {
		k.measureLocked(time.Duration(s.ElapsedSec * float64(time.Second)))
	}
	all := slices.Clone(k.retired)
	for pc := range k.live {
		st := pc.peak
		st.Written = pc.written.Load()
		if pc.reaped.Load() {
			st.End = endReaped
		}
		all = append(all, st)
	}
	sortSocketStats(all)
	r := &schema.DeadPeerReport{
		Diagnostics:     workers.SockInfoSupported,
		Connections:     k.opened.Load(),
		BlockedWrites:   k.blocked.Load(),
		PeakQueuedTotal: k.peakTotal,
		PeakQueuedAtSec: k.peakAt.Seconds(),
		Measurements:    k.measurements,
		Top:             all[:min(k.p.Top, len(all))],
	}
	if k.measurements > 0 {
		r.MeanQueuedTotal = int64(k.sumTotal / float64(k.measurements))
	}
	if k.p.Reaper.MaxQueued > 0 {
		r.Reaper = &schema.ReaperReport{MaxQueued: k.p.Reaper.MaxQueued, Reaped: k.reapCount, FreedBytes: k.reapBytes, Reaps: k.reaps}
	}
	if k.p.Reaper.MaxQueued > 0 && !workers.SockInfoSupported {
		s.Notes = append(s.Notes, "dead-peer: the reaper needs per-socket send queues (Linux); it reaped nothing")
	}
	if k.measureErrs > 0 && workers.SockInfoSupported {
		s.Notes = append(s.Notes, "dead-peer: some per-socket measurements failed (socket closed while measured)")
	}
	s.DeadPeer = r
	k.say.report(s)
	s.Socket.EffectiveSndBuf, s.Socket.EffectiveRcvBuf = k.effSnd, k.effRcv
}

// close resets every connection still open (SO_LINGER 0), so no orphaned
// send queue outlives the run.
func (k *deadPeerKind) Close() {
	for i := range k.per {
		pc := k.per[i].pc
		if pc == nil {
			continue
		}
		k.per[i].pc = nil
		pc.stop()
		if !pc.reaped.Load() {
			_ = pc.c.SetLinger(0)
		}
		_ = pc.c.Close()
	}
}

func sortSocketStats(s []schema.SocketStat) {
	slices.SortFunc(s, func(a, b schema.SocketStat) int {
		return cmp.Or(cmp.Compare(b.Queued, a.Queued), cmp.Compare(a.OpenedAtSec, b.OpenedAtSec), cmp.Compare(a.Local, b.Local))
	})
}
