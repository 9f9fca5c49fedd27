package workers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// Target is a built-in target: its listeners (or UDP socket) and the
// goroutines that serve its connections. Close stops it and waits for all
// of them.
type Target struct {
	mode string
	opts TargetOptions
	// lns are the listeners: one, or one per address for churn-peer.
	lns  []net.Listener
	pc   net.PacketConn // udp-sink
	done chan struct{}  // closed by Close

	accepted  atomic.Uint64
	active    atomic.Int64
	bytesRead atomic.Uint64
	datagrams atomic.Uint64
	vanished  atomic.Uint64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	errs   map[errclass.ErrorKey]*errStat
	closed bool
	start  time.Time

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// TargetOptions are the settings of the target modes that have any.
type TargetOptions struct {
	// Peers is how many consecutive loopback addresses churn-peer listens
	// on (same port); 0 or 1 means just the listen address.
	Peers int
	// Backlog is never-accept's listen backlog.
	Backlog int
	// ReadBytes is what a non-reader reads from each connection before it
	// stops reading.
	ReadBytes int64
	// VanishAfter is how long a vanish target keeps a connection before it
	// resets it.
	VanishAfter time.Duration
}

// TargetOptionsFor returns the target settings a scenario gives.
func TargetOptionsFor(sc *scenarios.Scenario) TargetOptions {
	var o TargetOptions
	if sc.Churn != nil {
		o.Peers = sc.Churn.Peers
	}
	if sc.HalfOpen != nil {
		o.Backlog = sc.HalfOpen.Backlog
	}
	if p := sc.DeadPeer; p != nil {
		o.ReadBytes, o.VanishAfter = int64(p.ReadBytes), p.VanishAfter.D()
	}
	return o
}

// StartTarget starts a built-in target of the given mode listening on
// listen, which must be a loopback address, with zero TargetOptions.
func StartTarget(mode, listen string) (*Target, error) {
	return StartTargetWith(mode, listen, TargetOptions{})
}

// StartTargetWith is StartTarget with the mode's settings.
func StartTargetWith(mode, listen string, o TargetOptions) (*Target, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("listen address %q: %w: built-in targets listen on loopback only", listen, ErrTargetRefused)
	}
	return ListenTargetWith(mode, listen, o)
}

// ListenTarget starts a built-in target on any address; the standalone
// `nobufs target` command uses it after its own safety check.
func ListenTarget(mode, listen string) (*Target, error) {
	return ListenTargetWith(mode, listen, TargetOptions{})
}

// ListenTargetWith is ListenTarget with the mode's settings.
func ListenTargetWith(mode, listen string, o TargetOptions) (*Target, error) {
	t := &Target{mode: mode, opts: o, done: make(chan struct{}), conns: map[net.Conn]struct{}{}, errs: map[errclass.ErrorKey]*errStat{}, start: time.Now()}
	var err error
	switch mode {
	case scenarios.TargetAcceptClose, scenarios.TargetSink, scenarios.TargetEcho,
		scenarios.TargetNonReader, scenarios.TargetVanish:
		lc := net.ListenConfig{KeepAlive: -1}
		var ln net.Listener
		if ln, err = lc.Listen(context.Background(), "tcp", listen); err == nil {
			t.lns = []net.Listener{ln}
		}
	case scenarios.TargetChurnPeer:
		t.lns, err = listenPeers(listen, o.Peers)
	case scenarios.TargetNeverAccept:
		ln, err := listenBacklog(listen, o.Backlog)
		if err != nil {
			return nil, err
		}
		// Never accepts: no accept loop; connections wait in the queue.
		t.lns = []net.Listener{ln}
		return t, nil
	case scenarios.TargetUDPSink:
		var lc net.ListenConfig
		pc, err := lc.ListenPacket(context.Background(), "udp", listen)
		if err != nil {
			return nil, err
		}
		t.pc = pc
		t.wg.Add(1)
		go t.udpLoop()
		return t, nil
	default:
		return nil, fmt.Errorf("unknown target mode %q", mode)
	}
	if err != nil {
		return nil, err
	}
	for _, ln := range t.lns {
		t.wg.Add(1)
		go t.acceptLoop(ln)
	}
	return t, nil
}

// Addr is the address the target listens on (the first one, for a
// churn-peer on several addresses).
func (t *Target) Addr() net.Addr {
	if t.pc != nil {
		return t.pc.LocalAddr()
	}
	return t.lns[0].Addr()
}

// Addrs lists every address the target listens on.
func (t *Target) Addrs() []net.Addr {
	if t.pc != nil {
		return []net.Addr{t.pc.LocalAddr()}
	}
	out := make([]net.Addr, len(t.lns))
	for i, ln := range t.lns {
		out[i] = ln.Addr()
	}
	return out
}

// Traffic returns the bytes the target read (sink, echo, non-reader,
// vanish, udp-sink), the datagrams a udp-sink received, and the
// connections a vanish target reset.
func (t *Target) Traffic() (bytesRead, datagrams, vanished uint64) {
	return t.bytesRead.Load(), t.datagrams.Load(), t.vanished.Load()
}

// Mode is the target's mode.
func (t *Target) Mode() string { return t.mode }

// Active is the number of connections the target holds now.
func (t *Target) Active() int64 { return t.active.Load() }

// Stats returns how many connections were accepted and the errors seen.
func (t *Target) Stats() (accepted uint64, errs []schema.ErrorCount) {
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
	close(t.done)
	if t.pc != nil {
		// Drain first: datagrams already queued to the sink are counted
		// (udpLoop reads until this deadline, then closes the socket).
		if reset || t.pc.SetReadDeadline(time.Now().Add(udpDrain)) != nil {
			_ = t.pc.Close()
		}
	}
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

func (t *Target) recordErr(phase errclass.Phase, err error) {
	k := errclass.Classify(err, phase)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.errs[k]
	if st == nil {
		st = &errStat{firstAt: time.Since(t.start), firstOp: t.accepted.Load()}
		t.errs[k] = st
	}
	st.count++
}

func (t *Target) acceptLoop(ln net.Listener) {
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
		_, err = io.Copy(io.Discard, countingReader{c, &t.bytesRead})
	case scenarios.TargetEcho:
		_, err = io.Copy(c, countingReader{c, &t.bytesRead})
	case scenarios.TargetChurnPeer:
		err = serveChurnPeer(c)
	case scenarios.TargetNonReader:
		// Read what it is told to, then hold the connection without
		// reading until the target stops: its receive window closes and
		// the sender's data piles up in the sender's send queue.
		if t.opts.ReadBytes > 0 {
			_, err = io.CopyN(io.Discard, countingReader{c, &t.bytesRead}, t.opts.ReadBytes)
			if err == io.EOF {
				return
			}
		}
		if err == nil {
			<-t.done
		}
	case scenarios.TargetVanish:
		err = t.vanish(c)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		t.recordErr(errclass.PhaseRecv, err)
	}
}

// vanish reads and discards for VanishAfter, then resets the connection
// (SO_LINGER 0: close sends RST and drops what was not read).
func (t *Target) vanish(c net.Conn) error {
	if err := c.SetReadDeadline(time.Now().Add(t.opts.VanishAfter)); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, countingReader{c, &t.bytesRead})
	if err == nil { // the client closed first
		return nil
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetLinger(0); err != nil {
			return err
		}
	}
	t.vanished.Add(1)
	return nil // serve's deferred Close sends the RST
}

// udpLoop receives and discards datagrams until the target is closed.
// udpDrain is how long a closing udp-sink keeps reading what is queued.
const udpDrain = 50 * time.Millisecond

func (t *Target) udpLoop() {
	defer t.wg.Done()
	defer t.pc.Close()
	buf := make([]byte, 65536)
	for {
		n, _, err := t.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-t.done:
				return // the drain deadline after Close
			default:
			}
			t.recordErr(errclass.PhaseRecv, err)
			select {
			case <-t.done:
				return
			case <-time.After(time.Millisecond):
			}
			continue
		}
		t.datagrams.Add(1)
		t.bytesRead.Add(uint64(n))
	}
}

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
