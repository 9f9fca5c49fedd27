package workers

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
)

// SocketSetup returns what the event-loop kinds (workers/netpoll) call on
// each raw socket before it connects: the scenario's socket options, as
// NewDialer applies them (SO_SNDBUF, SO_RCVBUF, SO_LINGER,
// TCP_USER_TIMEOUT, keep-alive). TCP_NODELAY matters only once data
// flows: a kind that writes calls SetNoDelay before its first write (Go's
// dialer sets it on every connection). A failed option is an
// *os.SyscallError "setsockopt", classified like any other.
func SocketSetup(s scenarios.Socket) func(fd int) error {
	return func(fd int) error {
		if err := applySockopts(uintptr(fd), s); err != nil {
			return err
		}
		if s.KeepAlive > 0 {
			secs := max(int(s.KeepAlive.D().Seconds()), 1)
			for _, o := range [][3]int{{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1}, {unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs}, {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs}, {unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 3}} {
				if err := unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
					return os.NewSyscallError("setsockopt", err)
				}
			}
		}
		return nil
	}
}

// SetNoDelay sets TCP_NODELAY on a raw socket.
func SetNoDelay(fd int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, v); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// RawBufferSizes reads SO_SNDBUF and SO_RCVBUF of a raw socket.
func RawBufferSizes(fd int) (snd, rcv int) { return getBufSizes(uintptr(fd)) }
