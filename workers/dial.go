package workers

import (
	"net"
	"syscall"

	"github.com/nobufs/nobufs/scenarios"
)

// NewDialer returns a dialer that applies the scenario's socket options to
// every socket before it connects, then extra (kind-specific options such
// as a source-port range). A failed option fails the dial with a
// setsockopt error, classified like any other.
func NewDialer(s scenarios.Socket, extra func(fd uintptr) error) *net.Dialer {
	d := &net.Dialer{Timeout: s.ConnectTimeout.D()}
	if s.KeepAlive > 0 {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: s.KeepAlive.D(), Interval: s.KeepAlive.D(), Count: 3}
	} else {
		// Go turns keep-alive on by default; it costs syscalls per dial
		// and changes what a dead peer does. Off unless asked.
		d.KeepAlive = -1
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: false}
	}
	d.Control = func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = applySockopts(fd, s)
			if serr == nil && extra != nil {
				serr = extra(fd)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	return d
}

// AfterConnect applies what can only be set on a connected socket.
func AfterConnect(c net.Conn, s scenarios.Socket) error {
	if tc, ok := c.(*net.TCPConn); ok && !s.NoDelay {
		return tc.SetNoDelay(false)
	}
	return nil
}

// BufferSizes reads SO_SNDBUF and SO_RCVBUF back from a connected socket.
func BufferSizes(c net.Conn) (snd, rcv int) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, 0
	}
	_ = raw.Control(func(fd uintptr) { snd, rcv = getBufSizes(fd) })
	return snd, rcv
}
