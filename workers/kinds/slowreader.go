package kinds

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// slowReader holds one connection per worker and reads from it slowly, so
// that the server's send queue fills (slowhttptest -X). Each operation is
// one slow read: dial (and write the request) when the worker has no
// connection, wait read_every, look whether the server closed, read at
// most read_bytes. The server ending the connection (its FIN or RST, phase
// recv, class eof or econnreset) is recorded and ends the connection; the
// worker dials again after redial_after.
type slowReader struct {
	sc      *scenarios.Scenario
	p       *scenarios.SlowReader
	addr    string
	dialer  *net.Dialer
	request []byte
	// queue reads the built-in target's own send queues, when it can.
	queue workers.SendQueuer

	per []slowConn // by worker ID, owned by that worker's goroutine

	connections, reads, bytesRead atomic.Uint64
	serverClosed                  atomic.Uint64
	lifeNs                        atomic.Int64 // summed over server-closed connections
	firstCloseNs                  atomic.Int64 // since start, +1 so 0 means none

	mu    sync.Mutex
	conns map[*net.TCPConn]struct{} // open, for the client-side queues

	// Sampler-owned; Report reads them after the sampler ended.
	server       schema.QueueStats
	serverSum    int64
	clientUnread int64
}

// slowConn is one worker's connection.
type slowConn struct {
	c       *net.TCPConn
	raw     syscall.RawConn
	stop    func() bool
	opened  time.Duration
	endedAt time.Time
	buf     []byte
}

func newSlowReader(env *workers.Env) (workers.Kind, error) {
	sc := env.Scenario
	k := &slowReader{sc: sc, p: sc.SlowReader, addr: env.Addr, dialer: workers.NewDialer(sc.Socket, nil),
		request: []byte(sc.SlowReader.Request), per: make([]slowConn, sc.Load.Workers), conns: map[*net.TCPConn]struct{}{}}
	k.queue, _ = env.Target.(workers.SendQueuer)
	// scenario.wire's payload is the request (the slow reader reads the
	// reply slowly itself: wire.expect is refused for this kind).
	say, err := newSpeaker(env)
	if err != nil {
		return nil, err
	}
	if say != nil && len(say.payload) > 0 {
		k.request = say.payload
	}
	return k, nil
}

func (k *slowReader) Op(ctx context.Context, w *workers.Worker, op uint64) {
	sc := &k.per[w.ID]
	if sc.c == nil && !k.dial(ctx, w, sc, op) {
		return
	}
	t := time.NewTimer(k.p.ReadEvery.D())
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	t0 := time.Now()
	k.reads.Add(1)
	n, err := k.read(sc)
	if n > 0 {
		k.bytesRead.Add(uint64(n))
		w.Bytes(0, n)
	}
	if err == nil {
		w.OK(time.Since(t0))
		return
	}
	if ctx.Err() != nil {
		return // the run stopped during the read: not a failure
	}
	switch errclass.Classify(err, errclass.PhaseRecv).Class {
	case errclass.ClassEOF, errclass.ClassECONNRESET, errclass.ClassEPIPE:
		// The server gave up on us.
		w.Fail(ctx, op, errclass.PhaseRecv, err)
		k.serverClosed.Add(1)
		life := w.Since() - sc.opened
		k.lifeNs.Add(int64(life))
		k.firstCloseNs.CompareAndSwap(0, int64(w.Since())+1)
		k.end(w, sc)
	case errclass.ClassDeadline:
		w.Fail(ctx, op, errclass.PhaseRecv, err) // nothing came within io_timeout; the connection stays
	default:
		w.Fail(ctx, op, errclass.PhaseRecv, err)
		k.end(w, sc)
	}
}

// read first looks at the socket's state and pending error (the server's
// FIN or RST is seen at once, although unread data still waits before
// it: a slow reader would reach it hours later), then reads at most
// read_bytes (none with read_bytes 0).
func (k *slowReader) read(sc *slowConn) (int, error) {
	if err := peek(sc.raw); err != nil || k.p.ReadBytes == 0 {
		return 0, err
	}
	if err := sc.c.SetReadDeadline(time.Now().Add(k.sc.Socket.IOTimeout.D())); err != nil {
		return 0, err
	}
	return sc.c.Read(sc.buf)
}

// dial opens worker w's connection, once redial_after has passed since its
// last one ended, and writes the request; false when it failed or the run
// stopped.
func (k *slowReader) dial(ctx context.Context, w *workers.Worker, sc *slowConn, op uint64) bool {
	tc, raw, ok := redialer{k.dialer, k.addr, k.sc.Socket, k.p.RedialAfter.D()}.dial(ctx, w, op, &sc.endedAt)
	if !ok {
		return false
	}
	k.connections.Add(1)
	// A read blocked when the run stops returns at once.
	stop := context.AfterFunc(ctx, func() { _ = tc.SetDeadline(time.Now()) })
	*sc = slowConn{c: tc, raw: raw, stop: stop, opened: w.Since(), buf: sc.buf}
	if sc.buf == nil && k.p.ReadBytes > 0 {
		sc.buf = make([]byte, k.p.ReadBytes)
	}
	k.mu.Lock()
	k.conns[tc] = struct{}{}
	k.mu.Unlock()
	if len(k.request) > 0 {
		_ = tc.SetWriteDeadline(time.Now().Add(k.sc.Socket.IOTimeout.D()))
		n, err := tc.Write(k.request)
		w.Bytes(n, 0)
		if err != nil {
			w.Fail(ctx, op, errclass.PhaseSend, err)
			k.end(w, sc)
			return false
		}
	}
	return true
}

// end closes worker w's connection.
func (k *slowReader) end(w *workers.Worker, sc *slowConn) {
	sc.stop()
	k.mu.Lock()
	delete(k.conns, sc.c)
	k.mu.Unlock()
	_ = sc.c.Close()
	w.Closed()
	sc.c, sc.raw = nil, nil
	sc.endedAt = time.Now()
}

// Sample adds the server's and the clients' queues (Linux) and the
// counts so far to the timeline.
func (k *slowReader) Sample(at time.Duration) map[string]any {
	m := map[string]any{"reads": k.reads.Load(), "bytes_read": k.bytesRead.Load(), "server_closed": k.serverClosed.Load()}
	if k.queue != nil {
		if q, n, ok := k.queue.SendQueue(); ok {
			m["server_queued"], m["server_sockets"] = q, n
			k.server.Samples++
			k.serverSum += q
			if q > k.server.Peak || k.server.Samples == 1 {
				k.server.Peak, k.server.PeakAtSec, k.server.Sockets = q, at.Seconds(), n
			}
		}
	}
	if workers.SockInfoSupported {
		var unread int64
		k.mu.Lock()
		for c := range k.conns {
			raw, err := c.SyscallConn()
			if err != nil {
				continue
			}
			var si workers.SockInfo
			var serr error
			if raw.Control(func(fd uintptr) { si, serr = workers.SockQueue(fd) }) == nil && serr == nil {
				unread += si.Unread
			}
		}
		k.mu.Unlock()
		m["client_unread"] = unread
		k.clientUnread = max(k.clientUnread, unread)
	}
	return m
}

func (k *slowReader) Report(s *schema.Summary) {
	r := &schema.SlowReaderReport{Connections: k.connections.Load(), Reads: k.reads.Load(), BytesRead: k.bytesRead.Load(),
		ServerClosed: k.serverClosed.Load(), ClientUnread: k.clientUnread}
	if at := k.firstCloseNs.Load(); at > 0 {
		sec := time.Duration(at - 1).Seconds()
		r.FirstServerCloseAtSec = &sec
	}
	if n := r.ServerClosed; n > 0 {
		r.MeanLifeSec = time.Duration(k.lifeNs.Load() / int64(n)).Seconds()
	}
	if k.server.Samples > 0 {
		q := k.server
		q.Mean = k.serverSum / int64(q.Samples)
		r.ServerQueued = &q
	}
	s.SlowReader = r
}

// Close resets every connection still open, so no queue outlives the run.
func (k *slowReader) Close() {
	for i := range k.per {
		sc := &k.per[i]
		if sc.c == nil {
			continue
		}
		sc.stop()
		_ = sc.c.SetLinger(0)
		_ = sc.c.Close()
		sc.c = nil
	}
}
