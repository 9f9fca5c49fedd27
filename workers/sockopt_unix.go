//go:build unix

package workers

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
)

func applySockopts(fd uintptr, s scenarios.Socket) error {
	f := int(fd)
	if s.SndBuf > 0 {
		if err := unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_SNDBUF, s.SndBuf); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if s.RcvBuf > 0 {
		if err := unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_RCVBUF, s.RcvBuf); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if s.Linger >= 0 {
		l := &unix.Linger{Onoff: 1, Linger: int32(s.Linger)}
		if err := unix.SetsockoptLinger(f, unix.SOL_SOCKET, unix.SO_LINGER, l); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if s.UserTimeout > 0 {
		if err := setUserTimeout(f, s.UserTimeout.D()); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	return nil
}

func getBufSizes(fd uintptr) (snd, rcv int) {
	snd, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	rcv, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	return snd, rcv
}
