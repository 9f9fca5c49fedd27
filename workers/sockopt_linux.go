package workers

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func setUserTimeout(fd int, d time.Duration) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
}

// PortRangeOptionSupported reports whether the kernel has the per-socket
// IP_LOCAL_PORT_RANGE option (Linux >= 6.3), probed on a fresh socket.
func PortRangeOptionSupported() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return setPortRange(uintptr(fd), 40000, 40001) == nil
}

// setPortRange limits the ports the kernel picks for this socket's
// automatic bind to [lo, hi] (IP_LOCAL_PORT_RANGE: high 16 bits hi, low lo).
func setPortRange(fd uintptr, lo, hi int) error {
	if err := unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, hi<<16|lo); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}
