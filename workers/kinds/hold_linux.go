package kinds

import (
	"context"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/netpoll"
)

// holdLinux is the hold kind on its event loops.
type holdLinux struct {
	*holdKind
	dests []netpoll.Dest
	setup func(fd int) error
}

func newHold(env *workers.Env) (workers.Kind, error) {
	k, err := newHoldKind(env)
	if err != nil {
		return nil, err
	}
	h := &holdLinux{holdKind: k, setup: workers.SocketSetup(env.Scenario.Socket)}
	for _, ap := range k.dests {
		h.dests = append(h.dests, netpoll.DestOf(ap))
	}
	return h, nil
}

// pending is a connect in flight.
type pending struct {
	op       uint64
	start    time.Time
	deadline time.Time
}

// holdLoop is one event loop's state: its connects in flight and the
// connections it holds (a flag by descriptor number).
type holdLoop struct {
	k    *holdLinux
	w    *workers.Worker
	p    *netpoll.Poller
	pend map[int]pending
	held []bool
	n    int // connections held
}

// Op opens one connection and holds it on the worker's goroutine until
// the run ends (the open model, which validation refuses for kind hold,
// would get one held connection per worker).
func (k *holdLinux) Op(ctx context.Context, w *workers.Worker, op uint64) {
	once := true
	k.Loop(ctx, w, 1, func() (uint64, bool) {
		if !once {
			return 0, false
		}
		once = false
		return op, true
	})
}

// Loop keeps up to inflight connects in flight until this segment's
// share is claimed, then holds what it opened until ctx ends. When next
// says no (max_ops), it returns once its connects in flight are done.
func (k *holdLinux) Loop(ctx context.Context, w *workers.Worker, inflight int, next func() (uint64, bool)) {
	p, err := netpoll.NewPoller()
	if err != nil {
		if op, ok := next(); ok {
			w.Fail(ctx, op, errclass.PhaseOther, err)
		}
		return
	}
	l := &holdLoop{k: k, w: w, p: p, pend: map[int]pending{}}
	defer l.closeAll()
	defer context.AfterFunc(ctx, p.Wake)()
	evs := make([]unix.EpollEvent, 256)
	timeout := k.sc.Socket.ConnectTimeout.D()
	claimed, drained := false, false
	for ctx.Err() == nil {
		for !claimed && !drained && len(l.pend) < inflight {
			if k.claimed.Add(1) > k.wanted {
				claimed = true
				break
			}
			op, ok := next()
			if !ok {
				drained = true
				break
			}
			l.connect(ctx, op, timeout)
		}
		if drained && len(l.pend) == 0 {
			return
		}
		msec := -1
		if len(l.pend) > 0 {
			msec = l.expire(ctx)
			if !claimed && !drained && len(l.pend) < inflight {
				continue // a connect timed out: start the next one
			}
		}
		n, _, err := p.Wait(evs, msec)
		if err != nil {
			return
		}
		for _, ev := range evs[:n] {
			l.event(ctx, int(ev.Fd), ev.Events)
		}
	}
}

func (l *holdLoop) connect(ctx context.Context, op uint64, timeout time.Duration) {
	t0 := time.Now()
	fd, done, err := netpoll.StartConnect(l.k.dests[l.k.dest(op)], l.k.setup)
	if err != nil {
		l.w.Fail(ctx, op, errclass.PhaseConnect, err)
		return
	}
	if done {
		l.established(fd, time.Since(t0))
		return
	}
	if err := l.p.Add(fd, unix.EPOLLOUT); err != nil {
		netpoll.Close(fd)
		l.w.Fail(ctx, op, errclass.PhaseOther, err)
		return
	}
	l.pend[fd] = pending{op: op, start: t0, deadline: t0.Add(timeout)}
}

// established records a completed connect and starts holding fd: watched
// only for the server closing it or sending something.
func (l *holdLoop) established(fd int, d time.Duration) {
	l.w.Connected(d)
	l.w.OK(d)
	for fd >= len(l.held) {
		l.held = append(l.held, false)
	}
	l.held[fd] = true
	l.n++
	l.k.gotOne()
}

// expire fails the connects past their deadline and returns the
// milliseconds until the next one.
func (l *holdLoop) expire(ctx context.Context) int {
	now := time.Now()
	var first time.Time
	for fd, pd := range l.pend {
		if !now.Before(pd.deadline) {
			delete(l.pend, fd)
			netpoll.Close(fd)
			l.w.Fail(ctx, pd.op, errclass.PhaseConnect, os.ErrDeadlineExceeded)
			continue
		}
		if first.IsZero() || pd.deadline.Before(first) {
			first = pd.deadline
		}
	}
	if first.IsZero() {
		return 0
	}
	return int(first.Sub(now)/time.Millisecond) + 1
}

func (l *holdLoop) event(ctx context.Context, fd int, events uint32) {
	if pd, ok := l.pend[fd]; ok {
		delete(l.pend, fd)
		if err := netpoll.ConnectResult(fd); err != nil {
			netpoll.Close(fd)
			l.w.Fail(ctx, pd.op, errclass.PhaseConnect, err)
			return
		}
		if err := l.p.Mod(fd, unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
			netpoll.Close(fd)
			l.w.Fail(ctx, pd.op, errclass.PhaseOther, err)
			return
		}
		l.established(fd, time.Since(pd.start))
		return
	}
	if fd >= len(l.held) || !l.held[fd] {
		return
	}
	// The server sent something, closed or reset: drain what it sent,
	// end the connection on EOF or an error.
	var buf [4096]byte
	for range 4 {
		n, err := unix.Read(fd, buf[:])
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return
		case err != nil:
			l.k.reset.Add(1)
			l.drop(fd)
			return
		case n == 0:
			l.k.closedEOF.Add(1)
			l.drop(fd)
			return
		}
		l.w.Bytes(0, n)
	}
}

func (l *holdLoop) drop(fd int) {
	l.held[fd] = false
	l.n--
	l.k.held.Add(^uint64(0))
	netpoll.Close(fd)
	l.w.Closed()
}

// closeAll closes what the loop holds and its connects in flight (those
// are aborted: neither ok nor failed).
func (l *holdLoop) closeAll() {
	l.k.heldAtEnd.Add(uint64(l.n))
	for fd := range l.pend {
		netpoll.Close(fd)
	}
	for fd, h := range l.held {
		if h {
			l.drop(fd)
		}
	}
	l.p.Close()
}

// rssBytes is this process's resident memory (/proc/self/statm), 0 when
// it cannot be read. It first collects garbage and returns free memory to
// the system, so that two readings differ by what is live, not by when
// the collector last ran.
func rssBytes() uint64 {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
