package kinds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/targets"
)

// orphanChurn is P2P churn whose connections end as orphans. Each
// operation is one connection: connect to one of the peers, ask for a
// burst (a churn header with reply length drawn from orphan_churn.burst),
// then read it slowly — wait read_every, look at the socket's pending
// error, read at most read_bytes — to its end and the peer's FIN. The
// orphan-peer target writes the burst and closes at once, so the kernel
// holds what is not read yet for an orphaned socket. A reset before the
// burst's end can only be the kernel killing that orphan (TCP memory past
// tcp_mem, or orphans past tcp_max_orphans): it is recorded as class
// orphan-reset, phase recv, code kept. Draws come from a generator seeded
// by (load.seed, operation index).
type orphanChurn struct {
	sc     *scenarios.Scenario
	o      *scenarios.OrphanChurn
	addrs  []string
	dialer *net.Dialer
	burst  scenarios.Dist
	seed   uint64

	per []orphanCounters // by worker ID

	reading      atomic.Int64
	firstResetNs atomic.Int64 // since start, +1 so 0 means none

	// Sampler-owned; Report reads them after the sampler ended.
	prev        orphanTotals
	peakReading int64
}

// orphanCounters are one worker's counts (atomics: the sampler reads them)
// and its read buffer (owned by its goroutine).
type orphanCounters struct {
	connects, completed, resets, asked, read, readNs atomic.Uint64
	buf                                              []byte
	_                                                [16]byte
}

type orphanTotals struct{ connects, completed, resets, asked, read, readNs uint64 }

func newOrphanChurn(env *workers.Env) (workers.Kind, error) {
	sc := env.Scenario
	o := sc.OrphanChurn
	k := &orphanChurn{sc: sc, o: o, seed: sc.Load.Seed, per: make([]orphanCounters, sc.Load.Workers)}
	var err error
	if k.burst, err = o.BurstDist(); err != nil {
		return nil, err
	}
	aps, err := scenarios.PeerAddrs(env.Addr, o.Peers)
	if err != nil {
		return nil, fmt.Errorf("orphan_churn.peers: %w", err)
	}
	for _, ap := range aps {
		k.addrs = append(k.addrs, ap.String())
	}
	k.dialer = workers.NewDialer(sc.Socket, nil)
	return k, nil
}

func (k *orphanChurn) Op(ctx context.Context, w *workers.Worker, op uint64) {
	cnt := &k.per[w.ID]
	r := rand.New(rand.NewPCG(k.seed, op))
	want := uint32(draw(k.burst, r, targets.ChurnMaxBurst))
	addr := k.addrs[r.IntN(len(k.addrs))]

	t0 := time.Now()
	c, err := k.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseConnect, err)
		return
	}
	w.Connected(time.Since(t0))
	cnt.connects.Add(1)
	tc := c.(*net.TCPConn) // a "tcp" dial returns *net.TCPConn
	// A read blocked when the run stops returns at once.
	stop := context.AfterFunc(ctx, func() { _ = tc.SetDeadline(time.Now()) })
	k.reading.Add(1)
	defer func() {
		stop()
		k.reading.Add(-1)
		if ctx.Err() != nil {
			_ = tc.SetLinger(0) // cut short: free the peer's orphan at once
		}
		_ = tc.Close()
		w.Closed()
	}()
	raw, err := tc.SyscallConn()
	if err == nil {
		err = workers.AfterConnect(c, k.sc.Socket)
	}
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseSetsockopt, err)
		return
	}
	var hdr [targets.ChurnHeaderLen]byte
	targets.PutChurnHeader(hdr[:], 0, want)
	if err := tc.SetWriteDeadline(time.Now().Add(k.sc.Socket.IOTimeout.D())); err != nil {
		w.Fail(ctx, op, errclass.PhaseSend, err)
		return
	}
	if _, err := tc.Write(hdr[:]); err != nil {
		w.Fail(ctx, op, errclass.PhaseSend, err)
		return
	}
	w.Bytes(len(hdr), 0)
	cnt.asked.Add(uint64(want))
	if cnt.buf == nil {
		cnt.buf = make([]byte, k.o.ReadBytes)
	}
	readStart := time.Now()
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	var got uint64
	for {
		if d := k.o.ReadEvery.D(); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return // aborted: neither a failure nor a success
			case <-timer.C:
			}
		}
		// A reset is seen at once, although unread data waits before it.
		if err := peek(raw); err != nil && !errors.Is(err, io.EOF) {
			k.failRead(ctx, w, op, err)
			return
		}
		if err := tc.SetReadDeadline(time.Now().Add(k.sc.Socket.IOTimeout.D())); err != nil {
			w.Fail(ctx, op, errclass.PhaseRecv, err)
			return
		}
		n, err := tc.Read(cnt.buf)
		if n > 0 {
			got += uint64(n)
			cnt.read.Add(uint64(n))
			w.Bytes(0, n)
		}
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return
		case errors.Is(err, io.EOF) && got >= uint64(want):
			cnt.completed.Add(1)
			cnt.readNs.Add(uint64(time.Since(readStart)))
			w.OK(time.Since(t0))
			return
		case errors.Is(err, io.EOF):
			w.Fail(ctx, op, errclass.PhaseRecv, io.ErrUnexpectedEOF) // the peer's FIN before the burst's end
			return
		default:
			k.failRead(ctx, w, op, err)
			return
		}
	}
}

// failRead records a failed read: a reset is the kernel killing the
// peer's orphan.
func (k *orphanChurn) failRead(ctx context.Context, w *workers.Worker, op uint64, err error) {
	if errclass.Classify(err, errclass.PhaseRecv).Class == errclass.ClassECONNRESET {
		err = errclass.Reclass(errclass.ClassOrphanReset, err)
		if w.Fail(ctx, op, errclass.PhaseRecv, err) {
			k.per[w.ID].resets.Add(1)
			k.firstResetNs.CompareAndSwap(0, int64(w.Since())+1)
		}
		return
	}
	w.Fail(ctx, op, errclass.PhaseRecv, err)
}

func (k *orphanChurn) totals() orphanTotals {
	var t orphanTotals
	for i := range k.per {
		p := &k.per[i]
		t.connects += p.connects.Load()
		t.completed += p.completed.Load()
		t.resets += p.resets.Load()
		t.asked += p.asked.Load()
		t.read += p.read.Load()
		t.readNs += p.readNs.Load()
	}
	return t
}

// Sample adds this interval's connects, completed bursts and orphan
// resets, and the connections being read now, to the timeline.
func (k *orphanChurn) Sample(time.Duration) map[string]any {
	t := k.totals()
	reading := k.reading.Load()
	k.peakReading = max(k.peakReading, reading)
	m := map[string]any{
		"connects":      t.connects - k.prev.connects,
		"completed":     t.completed - k.prev.completed,
		"orphan_resets": t.resets - k.prev.resets,
		"reading":       reading,
	}
	k.prev = t
	return m
}

func (k *orphanChurn) Report(s *schema.Summary) {
	t := k.totals()
	r := &schema.OrphanChurnReport{Peers: len(k.addrs), FirstPeer: k.addrs[0], LastPeer: k.addrs[len(k.addrs)-1],
		Connects: t.connects, Completed: t.completed, OrphanResets: t.resets, BytesAsked: t.asked, BytesRead: t.read,
		PeakReading: k.peakReading}
	if t.completed > 0 {
		r.MeanReadSec = time.Duration(t.readNs / t.completed).Seconds()
	}
	if at := k.firstResetNs.Load(); at > 0 {
		sec := time.Duration(at - 1).Seconds()
		r.FirstResetAtSec = &sec
	}
	s.OrphanChurn = r
}

func (k *orphanChurn) Close() {}
