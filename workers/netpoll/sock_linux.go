package netpoll

import (
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// Dest is a destination ready for connect(2).
type Dest struct {
	AddrPort netip.AddrPort
	family   int
	sa       unix.Sockaddr
}

// DestOf returns the destination ap.
func DestOf(ap netip.AddrPort) Dest {
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return Dest{AddrPort: ap, family: unix.AF_INET, sa: &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}}
	}
	return Dest{AddrPort: ap, family: unix.AF_INET6, sa: &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}}
}

// StartConnect opens a non-blocking stream socket towards d, calls setup
// on it (socket options; its error is returned as it is) and starts the
// connect. done is true when the connect completed at once; otherwise the
// socket becomes writable when it completes and ConnectResult says how.
// On error the socket is closed and fd is -1.
func StartConnect(d Dest, setup func(fd int) error) (fd int, done bool, err error) {
	fd, err = unix.Socket(d.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false, os.NewSyscallError("socket", err)
	}
	if setup != nil {
		if err := setup(fd); err != nil {
			unix.Close(fd)
			return -1, false, err
		}
	}
	// A Sockaddr is scratch space for the call: each connect has its own.
	var sa unix.Sockaddr
	switch a := d.sa.(type) {
	case *unix.SockaddrInet4:
		c := *a
		sa = &c
	case *unix.SockaddrInet6:
		c := *a
		sa = &c
	}
	switch err := unix.Connect(fd, sa); err {
	case nil:
		return fd, true, nil
	case unix.EINPROGRESS, unix.EINTR:
		return fd, false, nil
	default:
		unix.Close(fd)
		return -1, false, os.NewSyscallError("connect", err)
	}
}

// ConnectResult returns how the connect on fd ended (SO_ERROR), once the
// socket is writable or has an error event.
func ConnectResult(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if v != 0 {
		return os.NewSyscallError("connect", unix.Errno(v))
	}
	return nil
}

// Close closes fd.
func Close(fd int) { unix.Close(fd) }

// Reset closes fd with SO_LINGER 0: the peer gets an RST.
func Reset(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(fd)
}
