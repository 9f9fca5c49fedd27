package workers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/scenarios"
)

// Target is a built-in target: a listener and the goroutines that serve
// its connections. Close stops it and waits for all of them.
type Target struct {
	mode string
	ln   net.Listener

	accepted atomic.Uint64
	active   atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	errs   map[ErrorKey]*errStat
	closed bool
	start  time.Time

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// StartTarget starts a built-in target of the given mode listening on
// listen, which must be a loopback address.
func StartTarget(mode, listen string) (*Target, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("listen address %q: %w: built-in targets listen on loopback only", listen, ErrTargetRefused)
	}
	return ListenTarget(mode, listen)
}

// ListenTarget starts a built-in target on any address; the standalone
// `nobufs target` command uses it after its own safety check.
func ListenTarget(mode, listen string) (*Target, error) {
	switch mode {
	case scenarios.TargetAcceptClose, scenarios.TargetSink, scenarios.TargetEcho:
	default:
		return nil, fmt.Errorf("unknown target mode %q", mode)
	}
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", listen)
	if err != nil {
		return nil, err
	}
	t := &Target{mode: mode, ln: ln, conns: map[net.Conn]struct{}{}, errs: map[ErrorKey]*errStat{}, start: time.Now()}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr is the address the target listens on.
func (t *Target) Addr() net.Addr { return t.ln.Addr() }

// Mode is the target's mode.
func (t *Target) Mode() string { return t.mode }

// Active is the number of connections the target holds now.
func (t *Target) Active() int64 { return t.active.Load() }

// Stats returns how many connections were accepted and the errors seen.
func (t *Target) Stats() (accepted uint64, errs []ErrorCount) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ecs, _ := errorCounts(t.errs)
	return t.accepted.Load(), ecs
}

// Close stops accepting, closes every connection and waits for the
// goroutines serving them. It is safe to call more than once.
func (t *Target) Close() {
	t.closeOnce.Do(func() { t.shutdown(false) })
	t.wg.Wait()
}

// Kill stops the target as if its process had been killed: the listener
// closes and every open connection is reset (SO_LINGER 0, so the peer gets
// an RST, as the kernel does for a dead process's sockets). The lab's
// target-kill fault uses it, since built-in targets run in-process.
// Close after Kill is a no-op.
func (t *Target) Kill() {
	t.closeOnce.Do(func() { t.shutdown(true) })
	t.wg.Wait()
}

func (t *Target) shutdown(reset bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	_ = t.ln.Close()
	for c := range t.conns {
		if tc, ok := c.(*net.TCPConn); ok && reset {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

func (t *Target) recordErr(phase Phase, err error) {
	k := Classify(err, phase)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.errs[k]
	if st == nil {
		st = &errStat{firstAt: time.Since(t.start), firstOp: t.accepted.Load()}
		t.errs[k] = st
	}
	st.count++
}

func (t *Target) acceptLoop() {
	defer t.wg.Done()
	backoff := time.Millisecond
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE, ENFILE, ENOBUFS…: record, back off (bounded), go on.
			t.recordErr(PhaseAccept, err)
			time.Sleep(backoff)
			backoff = min(backoff*2, 100*time.Millisecond)
			continue
		}
		backoff = time.Millisecond
		t.accepted.Add(1)
		if t.mode == scenarios.TargetAcceptClose {
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
		go t.serve(c)
	}
}

func (t *Target) serve(c net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		t.active.Add(-1)
		_ = c.Close()
	}()
	var err error
	switch t.mode {
	case scenarios.TargetSink:
		_, err = io.Copy(io.Discard, c)
	case scenarios.TargetEcho:
		_, err = io.Copy(c, c)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		t.recordErr(PhaseRecv, err)
	}
}
