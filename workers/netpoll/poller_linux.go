package netpoll

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const supported = true

// Poller is one epoll instance with an eventfd to wake its waiter. It is
// driven by one goroutine (Wait); Add, Mod, Del and Wake may be called
// from any goroutine.
//
// The epoll descriptor is itself watched by Go's runtime poller (it is
// readable while events are ready): a Wait with nothing ready parks its
// goroutine there instead of blocking a thread in epoll_wait, which would
// hold its P (GOMAXPROCS) until the runtime noticed — on two cores that
// idles half the machine between events.
type Poller struct {
	ep, wake int
	f        *os.File
	raw      syscall.RawConn
	// blocking makes Wait block its thread in epoll_wait (a goroutine
	// locked to its own thread, which the kernel schedules).
	blocking bool
	// mu orders Wake (any goroutine, e.g. a context's AfterFunc that
	// may still run after its stop) before Close: never a write to a
	// closed, perhaps reused, descriptor.
	mu     sync.Mutex
	closed bool
}

// wakeToken is the epoll data of the wake eventfd; descriptors use their
// own number, which is never negative.
const wakeToken = -1

// NewPoller makes a poller.
func NewPoller() (*Poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, os.NewSyscallError("eventfd", err)
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		unix.Close(wake)
		return nil, os.NewSyscallError("fcntl", err)
	}
	p := &Poller{ep: ep, wake: wake, f: os.NewFile(uintptr(ep), "epoll")}
	if p.raw, err = p.f.SyscallConn(); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.add(wake, unix.EPOLLIN, wakeToken); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Poller) add(fd int, events uint32, token int32) error {
	ev := unix.EpollEvent{Events: events, Fd: token}
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Add watches fd for events; the events Wait returns for it carry fd.
func (p *Poller) Add(fd int, events uint32) error { return p.add(fd, events, int32(fd)) }

// Mod changes the events watched on fd.
func (p *Poller) Mod(fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_MOD, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Del stops watching fd (closing fd does so too).
func (p *Poller) Del(fd int) error {
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Wake makes a Wait in progress (or the next one) return at once with
// woken set.
func (p *Poller) Wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	var one = [8]byte{1}
	_, _ = unix.Write(p.wake, one[:])
}

// Wait waits up to msec milliseconds (-1: without bound) for events and
// fills evs. It returns the number of descriptor events in evs (the wake
// event is taken out) and whether Wake was called.
func (p *Poller) Wait(evs []unix.EpollEvent, msec int) (n int, woken bool, err error) {
	poll := func(uintptr) bool {
		n, err = unix.EpollWait(p.ep, evs, 0)
		if err == unix.EINTR {
			n, err = 0, nil
		}
		return n > 0 || err != nil
	}
	if p.blocking {
		for {
			n, err = unix.EpollWait(p.ep, evs, msec)
			if err != unix.EINTR {
				break
			}
		}
	} else if !poll(0) && err == nil && msec != 0 {
		var dl time.Time
		if msec > 0 {
			dl = time.Now().Add(time.Duration(msec) * time.Millisecond)
		}
		if derr := p.f.SetReadDeadline(dl); derr != nil {
			return 0, false, derr
		}
		if rerr := p.raw.Read(poll); rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded) {
			return 0, false, rerr
		}
	}
	if err != nil {
		return 0, false, os.NewSyscallError("epoll_wait", err)
	}
	for i := 0; i < n; i++ {
		if evs[i].Fd != wakeToken {
			continue
		}
		var b [8]byte
		_, _ = unix.Read(p.wake, b[:])
		woken = true
		evs[i] = evs[n-1]
		n--
		break
	}
	return n, woken, nil
}

// Close releases the poller; the descriptors it watched stay open.
func (p *Poller) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.f != nil {
		_ = p.f.Close() // closes ep
	} else {
		unix.Close(p.ep)
	}
	unix.Close(p.wake)
}
