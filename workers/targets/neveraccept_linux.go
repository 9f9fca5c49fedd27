package targets

import (
	"net"

	"golang.org/x/sys/unix"
)

// AcceptQueue returns the listener's accept queue: connections completed
// and waiting for accept, and the most it holds. Linux reports both for a
// listening socket in TCP_INFO (tcpi_unacked, tcpi_sacked).
func (t *neverAccept) AcceptQueue() (queued, limit int, ok bool) {
	tl, isTCP := t.ln.(*net.TCPListener)
	if !isTCP {
		return 0, 0, false
	}
	raw, err := tl.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || gerr != nil {
		return 0, 0, false
	}
	return int(info.Unacked), int(info.Sacked), true
}
