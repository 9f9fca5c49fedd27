package hostfacts

import "golang.org/x/sys/unix"

// PortRangeOptionSupported reports whether the kernel has the per-socket
// IP_LOCAL_PORT_RANGE option (Linux >= 6.3), probed on a fresh socket.
func PortRangeOptionSupported() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_LOCAL_PORT_RANGE, 40001<<16|40000) == nil
}

// NoFile returns this process's RLIMIT_NOFILE.
func NoFile() (Rlimit, error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return Rlimit{}, err
	}
	return Rlimit{Soft: r.Cur, Hard: r.Max}, nil
}
