package netpoll

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ServerOptions say what a Server does with the connections it accepts.
type ServerOptions struct {
	// ReadLimit is how many bytes the server reads (and discards) from
	// each connection before it stops reading it and only holds it; < 0
	// reads until the client closes. A connection whose client closes
	// while it is still read is closed.
	ReadLimit int64
	// OnError is called, on the server's goroutine, with each failed
	// accept4 or read (an *os.SyscallError); accept is true for accept4.
	OnError func(accept bool, err error)
}

// Server accepts connections on listening sockets and holds them on one
// poller and one goroutine: per connection it keeps a descriptor number
// and 8 bytes of read budget, and reads into one shared buffer.
type Server struct {
	p    *Poller
	lns  []int
	o    ServerOptions
	stop atomic.Int32 // 1 close, 2 reset
	done chan struct{}
	once sync.Once

	accepted, bytesRead atomic.Uint64
	active              atomic.Int64

	// Owned by the loop goroutine.
	isLn  map[int]bool
	left  []int64 // by fd: bytes still to read; -1 no limit
	open  []bool  // by fd
	pause time.Time
	off   bool // listeners taken out of the poller after an accept error
}

// NewServer serves the listening descriptors lns (non-blocking; the
// caller keeps and finally closes them) until Close or Kill.
func NewServer(lns []int, o ServerOptions) (*Server, error) {
	p, err := NewPoller()
	if err != nil {
		return nil, err
	}
	s := &Server{p: p, lns: lns, o: o, done: make(chan struct{}), isLn: map[int]bool{}}
	for _, fd := range lns {
		if err := p.Add(fd, unix.EPOLLIN); err != nil {
			p.Close()
			return nil, err
		}
		s.isLn[fd] = true
	}
	go s.loop()
	return s, nil
}

// Accepted, Active and BytesRead are the server's counters.
func (s *Server) Accepted() uint64  { return s.accepted.Load() }
func (s *Server) Active() int64     { return s.active.Load() }
func (s *Server) BytesRead() uint64 { return s.bytesRead.Load() }

// Close closes every connection and stops the server; Kill resets them
// (SO_LINGER 0). Both wait for the server's goroutine; the first call
// decides, later ones only wait.
func (s *Server) Close() { s.end(1) }

// Kill is Close with an RST on every connection.
func (s *Server) Kill() { s.end(2) }

func (s *Server) end(how int32) {
	s.once.Do(func() {
		s.stop.Store(how)
		s.p.Wake()
	})
	<-s.done
}

// acceptBatch bounds the accepts per listener event, so that reads are
// served between bursts of connects.
const acceptBatch = 256

func (s *Server) loop() {
	// The accepting side runs on a thread of its own, blocked in
	// epoll_wait while idle, which the kernel schedules beside the
	// client's loops: an in-process target starved by the load it
	// serves lets its accept queue overflow, and every SYN dropped
	// costs the client a 1 s retransmit.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.p.blocking = true
	defer close(s.done)
	defer s.p.Close()
	evs := make([]unix.EpollEvent, 256)
	buf := make([]byte, 32<<10)
	backoff := time.Millisecond
	for {
		msec := -1
		if s.off {
			msec = max(int(time.Until(s.pause)/time.Millisecond), 0)
		}
		n, _, err := s.p.Wait(evs, msec)
		if how := s.stop.Load(); how != 0 {
			s.closeAll(how == 2)
			return
		}
		if err != nil {
			s.closeAll(false)
			return
		}
		if s.off && !time.Now().Before(s.pause) {
			s.off = false
			for _, fd := range s.lns {
				_ = s.p.Add(fd, unix.EPOLLIN)
			}
		}
		for i := 0; i < n; i++ {
			fd := int(evs[i].Fd)
			if s.isLn[fd] {
				if s.accept(fd, buf) {
					backoff = time.Millisecond
				} else if !s.off {
					// EMFILE, ENFILE, ENOBUFS…: recorded; listen again later.
					for _, l := range s.lns {
						_ = s.p.Del(l)
					}
					s.off, s.pause = true, time.Now().Add(backoff)
					backoff = min(backoff*2, 100*time.Millisecond)
				}
				continue
			}
			s.read(fd, buf)
		}
	}
}

// accept takes up to acceptBatch connections from the listener ln; false
// when accept4 failed with an error that is not the queue being empty.
func (s *Server) accept(ln int, buf []byte) bool {
	for range acceptBatch {
		fd, _, err := unix.Accept4(ln, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
		case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED:
			return true
		default:
			if s.o.OnError != nil {
				s.o.OnError(true, os.NewSyscallError("accept4", err))
			}
			return false
		}
		s.accepted.Add(1)
		if s.o.ReadLimit == 0 {
			s.track(fd, 0) // held, never read
			continue
		}
		s.track(fd, s.o.ReadLimit)
		// Read once before watching: a client that already closed or
		// reset (connect-and-close churn) is done without an epoll_ctl.
		if !s.read(fd, buf) || !s.open[fd] || s.left[fd] == 0 {
			continue
		}
		if err := s.p.Add(fd, unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
			s.drop(fd)
		}
	}
	return true
}

func (s *Server) track(fd int, left int64) {
	for fd >= len(s.open) {
		s.open = append(s.open, false)
		s.left = append(s.left, 0)
	}
	s.open[fd], s.left[fd] = true, left
	s.active.Add(1)
}

func (s *Server) drop(fd int) {
	s.open[fd] = false
	s.active.Add(-1)
	unix.Close(fd)
}

// read reads what fd has (a bounded number of times), closes it when the
// client closed or reset it, and stops reading it at its read limit. It
// reports whether fd is still open and read.
func (s *Server) read(fd int, buf []byte) bool {
	if fd >= len(s.open) || !s.open[fd] {
		return false
	}
	for range 4 {
		b := buf
		if l := s.left[fd]; l >= 0 && int64(len(b)) > l {
			b = b[:l]
		}
		n, err := unix.Read(fd, b)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return true
		case err != nil:
			if s.o.OnError != nil {
				s.o.OnError(false, os.NewSyscallError("read", err))
			}
			s.drop(fd)
			return false
		case n == 0:
			s.drop(fd) // the client closed
			return false
		}
		s.bytesRead.Add(uint64(n))
		if s.left[fd] >= 0 {
			s.left[fd] -= int64(n)
			if s.left[fd] == 0 {
				_ = s.p.Del(fd) // hold without reading (not watched yet: ENOENT, no matter)
				return true
			}
		}
	}
	return true
}

func (s *Server) closeAll(reset bool) {
	for fd, open := range s.open {
		if !open {
			continue
		}
		s.open[fd] = false
		s.active.Add(-1)
		if reset {
			Reset(fd)
		} else {
			unix.Close(fd)
		}
	}
}
