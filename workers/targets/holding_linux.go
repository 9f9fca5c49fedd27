package targets

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/netpoll"
)

// holding is a TCP mode that holds what it accepts on one event loop
// (workers/netpoll): no goroutine and no buffer per connection, so that
// tens of thousands of idle connections cost the kernel's memory only.
// sink and non-reader are holding modes on Linux (modes_other.go has
// their one-goroutine-per-connection form for other systems).
type holding struct {
	mode  string
	lns   []net.Listener
	srv   *netpoll.Server
	start time.Time

	mu   sync.Mutex
	errs schema.Tally
	once sync.Once
}

// newSink reads and discards until the client closes; it listens on
// o.Peers consecutive loopback addresses (kind hold's peers).
func newSink(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	return startHolding(scenarios.TargetSink, listen, o.Peers, -1)
}

// newNonReader reads ReadBytes, then holds the connection without reading
// until the target stops: its receive window closes and the sender's data
// piles up in the sender's send queue.
func newNonReader(listen string, o scenarios.TargetOptions) (workers.Target, error) {
	return startHolding(scenarios.TargetNonReader, listen, 1, o.ReadBytes)
}

func startHolding(mode, listen string, peers int, readLimit int64) (workers.Target, error) {
	lns, err := listenPeers(listen, peers)
	if err != nil {
		return nil, err
	}
	t := &holding{mode: mode, lns: lns, start: time.Now()}
	fds := make([]int, len(lns))
	for i, ln := range lns {
		if fds[i], err = listenerFD(ln); err != nil {
			t.closeListeners()
			return nil, err
		}
	}
	t.srv, err = netpoll.NewServer(fds, netpoll.ServerOptions{ReadLimit: readLimit, OnError: t.recordErr})
	if err != nil {
		t.closeListeners()
		return nil, err
	}
	return t, nil
}

func (t *holding) closeListeners() {
	for _, ln := range t.lns {
		_ = ln.Close()
	}
}

// listenerFD returns the descriptor of a TCP listener (it stays owned by
// the listener).
func listenerFD(ln net.Listener) (int, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return -1, fmt.Errorf("listener %T is not TCP", ln)
	}
	raw, err := tl.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, err
	}
	return fd, nil
}

func (t *holding) recordErr(accept bool, err error) {
	phase := errclass.PhaseRecv
	if accept {
		phase = errclass.PhaseAccept
	}
	k := errclass.Classify(err, phase)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs.AddError(k, 1, time.Since(t.start).Seconds(), t.srv.Accepted())
}

// Addr is the first listener's address.
func (t *holding) Addr() net.Addr { return t.lns[0].Addr() }

// Info describes the target and what it counted.
func (t *holding) Info() schema.TargetInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return schema.TargetInfo{Mode: t.mode, Address: t.Addr().String(), Accepted: t.srv.Accepted(), Active: t.srv.Active(),
		ServerErrors: t.errs.Errors(), BytesRead: t.srv.BytesRead()}
}

// Close stops accepting and closes every connection.
func (t *holding) Close() { t.once.Do(func() { t.srv.Close() }); t.closeListeners() }

// Kill resets every connection, as a killed process's sockets are.
func (t *holding) Kill() { t.once.Do(func() { t.srv.Kill() }); t.closeListeners() }

// Addrs lists every address the target listens on.
func (t *holding) Addrs() []net.Addr {
	out := make([]net.Addr, len(t.lns))
	for i, ln := range t.lns {
		out[i] = ln.Addr()
	}
	return out
}
