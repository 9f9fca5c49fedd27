package kinds

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/netpoll"
)

// On Linux a port-exhaustion operation runs on an event loop
// (workers/netpoll): the closed model keeps load.workers operations in
// flight on min(GOMAXPROCS, workers) loops (Loop); the open model runs
// each arrival on its worker's own loop (Op). It is the same machine
// either way: socket, options (the port range: IP_LOCAL_PORT_RANGE, or a
// bind to the next free port), non-blocking connect; then, as asked, the
// exchange (write the payload, read it back) and the wait for the
// server's FIN, within socket.io_timeout; then close. Its errors are the
// standard library's (*os.SyscallError "connect", "bind", "write",
// "read"…; os.ErrDeadlineExceeded; io.EOF), so they classify the same.

// pollerSlot is one worker's loop for the open model.
type pollerSlot struct{ p *netpoll.Poller }

// Connection states.
const (
	stConnecting = iota
	stWriting
	stReading
	stWaitEOF
)

// pconn is one operation in flight.
type pconn struct {
	op        uint64
	t0        time.Time
	deadline  time.Time
	state     uint8
	connected bool
	n         int // bytes written, then read
	idx       int // in portLoop.active
}

// errDataBeforeClose: the server sent data where the client waited for
// its FIN.
var errDataBeforeClose = errors.New("server sent data before closing")

type portLoop struct {
	k      *portKind
	w      *workers.Worker
	p      *netpoll.Poller
	dest   netpoll.Dest
	setup  func(fd int) error
	conns  []pconn // by fd
	active []int   // fds in flight
	buf    []byte
	next   time.Time // no deadline passes before
}

// Loop runs the closed model's operations on one event loop.
func (k *portKind) Loop(ctx context.Context, w *workers.Worker, inflight int, next func() (uint64, bool)) {
	p, err := netpoll.NewPoller()
	if err != nil {
		if op, ok := next(); ok {
			w.Fail(ctx, op, errclass.PhaseOther, err)
		}
		return
	}
	defer p.Close()
	k.loop(ctx, w, p, inflight, next)
}

// Op runs one operation on the worker's own loop (the open model).
func (k *portKind) Op(ctx context.Context, w *workers.Worker, op uint64) {
	slot := k.pollers[w.ID]
	if slot == nil {
		p, err := netpoll.NewPoller()
		if err != nil {
			w.Fail(ctx, op, errclass.PhaseOther, err)
			return
		}
		slot = &pollerSlot{p: p}
		k.pollers[w.ID] = slot
	}
	once := true
	k.loop(ctx, w, slot.p, 1, func() (uint64, bool) {
		if !once || ctx.Err() != nil {
			return 0, false
		}
		once = false
		return op, true
	})
}

// Close closes the workers' loops.
func (k *portKind) Close() {
	for _, s := range k.pollers {
		if s != nil {
			s.p.Close()
		}
	}
}

func (k *portKind) loop(ctx context.Context, w *workers.Worker, p *netpoll.Poller, inflight int, next func() (uint64, bool)) {
	ap, err := netip.ParseAddrPort(k.addr)
	if err != nil {
		if op, ok := next(); ok {
			w.Fail(ctx, op, errclass.PhaseConnect, err)
		}
		return
	}
	l := &portLoop{k: k, w: w, p: p, dest: netpoll.DestOf(ap), buf: make([]byte, min(max(len(k.payload), 1), 64<<10))}
	opts := workers.SocketSetup(k.sc.Socket)
	l.setup = func(fd int) error {
		if err := opts(fd); err != nil {
			return err
		}
		if k.extra != nil {
			return k.extra(uintptr(fd))
		}
		return nil
	}
	defer l.abortAll()
	stop := context.AfterFunc(ctx, p.Wake)
	defer stop()
	evs := make([]unix.EpollEvent, 128)
	drained := false
	for ctx.Err() == nil {
		for !drained && len(l.active) < inflight {
			op, ok := next()
			if !ok {
				drained = true
				break
			}
			l.start(ctx, op)
		}
		if drained && len(l.active) == 0 {
			return
		}
		msec := -1
		if len(l.active) > 0 {
			msec = l.expire(ctx)
			if !drained && len(l.active) < inflight {
				continue // an operation timed out: start the next one
			}
		}
		n, _, err := p.Wait(evs, msec)
		if err != nil {
			return
		}
		for _, ev := range evs[:n] {
			l.event(ctx, int(ev.Fd))
		}
	}
}

// start opens one operation's socket and starts its connect.
func (l *portLoop) start(ctx context.Context, op uint64) {
	t0 := time.Now()
	fd, done, err := l.connect(ctx)
	if err != nil {
		l.w.Fail(ctx, op, errclass.PhaseConnect, err)
		return
	}
	for fd >= len(l.conns) {
		l.conns = append(l.conns, pconn{})
	}
	c := &l.conns[fd]
	*c = pconn{op: op, t0: t0, deadline: t0.Add(l.k.sc.Socket.ConnectTimeout.D()), idx: len(l.active)}
	l.active = append(l.active, fd)
	l.deadlineAt(c.deadline)
	if done {
		l.connected(ctx, fd, c)
		return
	}
	if err := l.p.Add(fd, unix.EPOLLOUT); err != nil {
		l.fail(ctx, fd, c, errclass.PhaseOther, err)
	}
}

// connect starts a connect; with the bind method from the next free port
// of the range, skipping busy ones as the kernel's own choice would.
func (l *portLoop) connect(ctx context.Context) (int, bool, error) {
	k := l.k
	if k.srcIP == nil {
		return netpoll.StartConnect(l.dest, l.setup)
	}
	size := uint64(k.hi - k.lo + 1)
	var err error
	for range size {
		port := k.lo + int((k.cursor.Add(1)-1)%size)
		var fd int
		var done bool
		fd, done, err = netpoll.StartConnect(l.dest, func(fd int) error {
			if err := l.setup(fd); err != nil {
				return err
			}
			var sa unix.Sockaddr = &unix.SockaddrInet4{Port: port}
			if k.srcIP.To4() == nil {
				sa = &unix.SockaddrInet6{Port: port}
			}
			if err := unix.Bind(fd, sa); err != nil {
				return os.NewSyscallError("bind", err)
			}
			return nil
		})
		if err == nil {
			return fd, done, nil
		}
		if key := errclass.Classify(err, errclass.PhaseConnect); key.Phase != errclass.PhaseBind || key.Class != errclass.ClassEADDRINUSE || ctx.Err() != nil {
			return -1, false, err
		}
		k.skipped.Add(1)
	}
	return -1, false, err
}

func (l *portLoop) deadlineAt(t time.Time) {
	if l.next.IsZero() || t.Before(l.next) {
		l.next = t
	}
}

// expire fails the operations past their deadline and returns the
// milliseconds until the next deadline (scanning only once one passed).
func (l *portLoop) expire(ctx context.Context) int {
	now := time.Now()
	if now.Before(l.next) {
		return int(l.next.Sub(now)/time.Millisecond) + 1
	}
	l.next = time.Time{}
	for i := 0; i < len(l.active); {
		fd := l.active[i]
		c := &l.conns[fd]
		if !now.Before(c.deadline) {
			phase := errclass.PhaseRecv
			if c.state == stConnecting {
				phase = errclass.PhaseConnect
			}
			l.fail(ctx, fd, c, phase, os.ErrDeadlineExceeded)
			continue // fail moved another fd to i
		}
		l.deadlineAt(c.deadline)
		i++
	}
	if l.next.IsZero() {
		return -1
	}
	return int(l.next.Sub(now)/time.Millisecond) + 1
}

func (l *portLoop) event(ctx context.Context, fd int) {
	if fd >= len(l.conns) {
		return
	}
	c := &l.conns[fd]
	if c.idx >= len(l.active) || l.active[c.idx] != fd {
		return // already ended
	}
	switch c.state {
	case stConnecting:
		if err := netpoll.ConnectResult(fd); err != nil {
			l.fail(ctx, fd, c, errclass.PhaseConnect, err)
			return
		}
		l.connected(ctx, fd, c)
	case stWriting:
		l.write(ctx, fd, c)
	case stReading:
		l.read(ctx, fd, c)
	case stWaitEOF:
		l.waitEOF(ctx, fd, c)
	}
}

// connected records the connect and goes on with the exchange, the wait
// for the server's FIN, or the close.
func (l *portLoop) connected(ctx context.Context, fd int, c *pconn) {
	k := l.k
	c.connected = true
	l.w.Connected(time.Since(c.t0))
	l.k.bufOnce.Do(func() { k.effSnd, k.effRcv = workers.RawBufferSizes(fd) })
	if len(k.payload) == 0 && k.p.CloseFirst != scenarios.CloseServer {
		l.finish(ctx, fd, c)
		return
	}
	c.deadline = time.Now().Add(k.sc.Socket.IOTimeout.D())
	l.deadlineAt(c.deadline)
	if len(k.payload) > 0 {
		if k.sc.Socket.NoDelay {
			if err := workers.SetNoDelay(fd, true); err != nil {
				l.fail(ctx, fd, c, errclass.PhaseRecv, err)
				return
			}
		}
		c.state, c.n = stWriting, 0
		l.write(ctx, fd, c)
		return
	}
	l.toWaitEOF(ctx, fd, c)
}

func (l *portLoop) write(ctx context.Context, fd int, c *pconn) {
	p := l.k.payload
	for c.n < len(p) {
		n, err := unix.Write(fd, p[c.n:])
		if err == unix.EAGAIN {
			return // EPOLLOUT is watched
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			l.fail(ctx, fd, c, errclass.PhaseRecv, os.NewSyscallError("write", err))
			return
		}
		c.n += n
	}
	c.state, c.n = stReading, 0
	if err := l.p.Mod(fd, unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
		l.fail(ctx, fd, c, errclass.PhaseOther, err)
		return
	}
	l.read(ctx, fd, c)
}

func (l *portLoop) read(ctx context.Context, fd int, c *pconn) {
	want := len(l.k.payload)
	for c.n < want {
		n, err := unix.Read(fd, l.buf[:min(len(l.buf), want-c.n)])
		switch {
		case err == unix.EAGAIN:
			return
		case err == unix.EINTR:
			continue
		case err != nil:
			l.fail(ctx, fd, c, errclass.PhaseRecv, os.NewSyscallError("read", err))
			return
		case n == 0:
			eof := io.ErrUnexpectedEOF // as io.ReadFull says it
			if c.n == 0 {
				eof = io.EOF
			}
			l.fail(ctx, fd, c, errclass.PhaseRecv, eof)
			return
		}
		c.n += n
	}
	if l.k.p.CloseFirst == scenarios.CloseServer {
		l.toWaitEOF(ctx, fd, c)
		return
	}
	l.finish(ctx, fd, c)
}

func (l *portLoop) toWaitEOF(ctx context.Context, fd int, c *pconn) {
	if c.state == stConnecting || c.state == stWriting {
		if err := l.p.Mod(fd, unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
			l.fail(ctx, fd, c, errclass.PhaseOther, err)
			return
		}
	}
	c.state = stWaitEOF
	l.waitEOF(ctx, fd, c)
}

// waitEOF waits for the server's FIN, so TIME_WAIT lands on its side.
func (l *portLoop) waitEOF(ctx context.Context, fd int, c *pconn) {
	var b [1]byte
	n, err := unix.Read(fd, b[:])
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return
	case err != nil:
		l.fail(ctx, fd, c, errclass.PhaseRecv, os.NewSyscallError("read", err))
	case n > 0:
		l.fail(ctx, fd, c, errclass.PhaseRecv, errDataBeforeClose)
	default:
		l.finish(ctx, fd, c)
	}
}

// remove takes fd out of the operations in flight.
func (l *portLoop) remove(fd int, c *pconn) {
	last := l.active[len(l.active)-1]
	l.active[c.idx] = last
	l.conns[last].idx = c.idx
	l.active = l.active[:len(l.active)-1]
	c.idx = len(l.conns) + 1 // not in flight
}

// finish closes a completed operation and records it.
func (l *portLoop) finish(ctx context.Context, fd int, c *pconn) {
	k, w, op, t0 := l.k, l.w, c.op, c.t0
	l.remove(fd, c)
	err := unix.Close(fd)
	w.Closed()
	if err != nil {
		w.Fail(ctx, op, errclass.PhaseClose, os.NewSyscallError("close", err))
		return
	}
	w.Bytes(len(k.payload), len(k.payload))
	if ttf := k.env.TimeToFailure(); ttf != nil && op > ttf.Op && k.recoveredAt.Load() == 0 {
		k.recoveredAt.CompareAndSwap(0, int64(w.Since()))
	}
	w.OK(time.Since(t0))
}

// fail closes an operation that failed and records err.
func (l *portLoop) fail(ctx context.Context, fd int, c *pconn, phase errclass.Phase, err error) {
	connected, op := c.connected, c.op
	l.remove(fd, c)
	netpoll.Close(fd)
	if connected {
		l.w.Closed()
	}
	l.w.Fail(ctx, op, phase, err)
}

// abortAll closes what is in flight when the loop ends: aborted, neither
// ok nor failed.
func (l *portLoop) abortAll() {
	for _, fd := range l.active {
		netpoll.Close(fd)
		if l.conns[fd].connected {
			l.w.Closed()
		}
	}
	l.active = nil
}
