package targets

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers/errclass"
)

// stream is what the TCP modes that accept share: the listeners, the
// connections being served and the counters. A mode gives serve, which
// handles one connection until it returns (nil: close it at once).
type stream struct {
	mode  string
	lns   []net.Listener
	done  chan struct{} // closed by Close and Kill
	serve func(c net.Conn) error

	accepted     atomic.Uint64
	active       atomic.Int64
	bytesRead    atomic.Uint64
	bytesWritten atomic.Uint64
	vanished     atomic.Uint64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	errs   schema.Tally
	closed bool
	start  time.Time

	wg        sync.WaitGroup
	closeOnce sync.Once
}

func newStream(mode string) *stream {
	return &stream{mode: mode, done: make(chan struct{}), conns: map[net.Conn]struct{}{}, start: time.Now()}
}

// listen1 listens on one address, keep-alive off (a target never probes).
func listen1(listen string) ([]net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", listen)
	if err != nil {
		return nil, err
	}
	return []net.Listener{ln}, nil
}

// run starts the accept loops.
func (t *stream) run() {
	for _, ln := range t.lns {
		t.wg.Add(1)
		go t.acceptLoop(ln)
	}
}

// Addr is the first listener's address.
func (t *stream) Addr() net.Addr { return t.lns[0].Addr() }

// Addrs lists every address the target listens on.
func (t *stream) Addrs() []net.Addr {
	out := make([]net.Addr, len(t.lns))
	for i, ln := range t.lns {
		out[i] = ln.Addr()
	}
	return out
}

// Info describes the target and what it counted.
func (t *stream) Info() schema.TargetInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return schema.TargetInfo{Mode: t.mode, Address: t.Addr().String(), Accepted: t.accepted.Load(), Active: t.active.Load(),
		ServerErrors: t.errs.Errors(), BytesRead: t.bytesRead.Load(), BytesWritten: t.bytesWritten.Load(), Vanished: t.vanished.Load()}
}

// Close stops accepting, closes every connection and waits for the
// goroutines serving them. It is safe to call more than once.
func (t *stream) Close() {
	t.closeOnce.Do(func() { t.shutdown(false) })
	t.wg.Wait()
}

// Kill stops the target as if its process had been killed: the listener
// closes and every open connection is reset (SO_LINGER 0, so the peer gets
// an RST, as the kernel does for a dead process's sockets). The lab's
// target-kill fault uses it. Close after Kill is a no-op.
func (t *stream) Kill() {
	t.closeOnce.Do(func() { t.shutdown(true) })
	t.wg.Wait()
}

func (t *stream) shutdown(reset bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	close(t.done)
	for _, ln := range t.lns {
		_ = ln.Close()
	}
	for c := range t.conns {
		if tc, ok := c.(*net.TCPConn); ok && reset {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

func (t *stream) recordErr(phase errclass.Phase, err error) {
	k := errclass.Classify(err, phase)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs.AddError(k, 1, time.Since(t.start).Seconds(), t.accepted.Load())
}

func (t *stream) acceptLoop(ln net.Listener) {
	defer t.wg.Done()
	backoff := time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE, ENFILE, ENOBUFS…: record, back off (bounded), go on.
			t.recordErr(errclass.PhaseAccept, err)
			select {
			case <-t.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 100*time.Millisecond)
			continue
		}
		backoff = time.Millisecond
		t.accepted.Add(1)
		if t.serve == nil {
			_ = c.Close()
			continue
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			_ = c.Close()
			return
		}
		t.conns[c] = struct{}{}
		t.active.Add(1)
		t.wg.Add(1)
		t.mu.Unlock()
		go t.handle(c)
	}
}

func (t *stream) handle(c net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		t.active.Add(-1)
		_ = c.Close()
	}()
	if err := t.serve(c); err != nil && !errors.Is(err, net.ErrClosed) {
		t.recordErr(errclass.PhaseRecv, err)
	}
}

// counting wraps c so that the bytes read through it are counted.
func (t *stream) counting(c net.Conn) io.Reader { return countingReader{c, &t.bytesRead} }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Uint64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(uint64(n))
	return n, err
}
