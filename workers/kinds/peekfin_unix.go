//go:build unix

package kinds

import (
	"io"
	"syscall"

	"github.com/nobufs/nobufs/workers"
)

// peekFIN reports the server's FIN without reading and without touching a
// pending socket error: io.EOF when the connection is in CLOSE_WAIT
// (Linux's TCP_INFO), nil otherwise. A writer that must see the kernel's
// own errors (dead-peer: ECONNRESET, then EPIPE) uses it instead of peek,
// which consumes SO_ERROR.
func peekFIN(raw syscall.RawConn) error {
	var si workers.SockInfo
	var serr error
	if err := raw.Control(func(fd uintptr) { si, serr = workers.SockQueue(fd) }); err != nil || serr != nil {
		return nil
	}
	if si.State == "close-wait" {
		return io.EOF
	}
	return nil
}
