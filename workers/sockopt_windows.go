package workers

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"

	"github.com/nobufs/nobufs/scenarios"
)

func applySockopts(fd uintptr, s scenarios.Socket) error {
	h := windows.Handle(fd)
	if s.SndBuf > 0 {
		if err := windows.SetsockoptInt(h, windows.SOL_SOCKET, windows.SO_SNDBUF, s.SndBuf); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if s.RcvBuf > 0 {
		if err := windows.SetsockoptInt(h, windows.SOL_SOCKET, windows.SO_RCVBUF, s.RcvBuf); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if s.Linger >= 0 {
		l := &windows.Linger{Onoff: 1, Linger: int32(s.Linger)}
		if err := windows.SetsockoptLinger(h, windows.SOL_SOCKET, windows.SO_LINGER, l); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if s.UserTimeout > 0 {
		return os.NewSyscallError("setsockopt", errors.New("socket.user_timeout (TCP_USER_TIMEOUT) is Linux-only"))
	}
	return nil
}

func getBufSizes(fd uintptr) (snd, rcv int) {
	snd, _ = windows.GetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_SNDBUF)
	rcv, _ = windows.GetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, windows.SO_RCVBUF)
	return snd, rcv
}
