package workers

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func setUserTimeout(fd int, d time.Duration) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
}

// SetPortRange limits the ports the kernel picks for this socket's
// automatic bind to [lo, hi] (IP_LOCAL_PORT_RANGE: high 16 bits hi, low lo).
func SetPortRange(fd uintptr, lo, hi int) error {
	if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, hi<<16|lo); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}
