package workers

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
)

// SocketSetup returns what the event-loop kinds (workers/netpoll) call on
// each raw socket before it connects: the scenario's socket options, as
// NewDialer applies them (SO_SNDBUF, SO_RCVBUF, SO_LINGER,
// TCP_USER_TIMEOUT, keep-alive; TCP_NODELAY as asked). A failed option is
// an *os.SyscallError "setsockopt", classified like any other.
func SocketSetup(s scenarios.Socket) func(fd int) error {
	return func(fd int) error {
		if err := applySockopts(uintptr(fd), s); err != nil {
			return err
		}
		if s.NoDelay {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
				return os.NewSyscallError("setsockopt", err)
			}
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
