//go:build unix

package kinds

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/workers"
)

// peek reports the server's close without reading: a pending socket error
// (an RST), or the peer's FIN (CLOSE_WAIT, Linux's TCP_INFO) as io.EOF.
func peek(raw syscall.RawConn) error {
	var soErr int
	var si workers.SockInfo
	var gerr, serr error
	if err := raw.Control(func(fd uintptr) {
		soErr, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		si, serr = workers.SockQueue(fd)
	}); err != nil {
		return err
	}
	switch {
	case gerr != nil:
		return os.NewSyscallError("getsockopt", gerr)
	case soErr != 0:
		return os.NewSyscallError("recv", syscall.Errno(soErr))
	case serr == nil && (si.State == "close-wait" || si.State == "close"):
		return io.EOF
	}
	return nil
}
