package workers

import "errors"

// ErrNoSockInfo is returned by SockQueue where the OS has no per-socket
// queue diagnostics.
var ErrNoSockInfo = errors.New("per-socket send-queue diagnostics are Linux-only")

// SockInfo is one measurement of a TCP socket's send side.
type SockInfo struct {
	// Queued is SIOCOUTQ: bytes in the send queue, sent but unacknowledged
	// or not sent yet.
	Queued int64
	// Unacked is tcpi_unacked: segments sent and not acknowledged.
	Unacked uint32
	// NotSent is tcpi_notsent_bytes: bytes queued and never sent.
	NotSent uint32
	// SndWnd is tcpi_snd_wnd: the window the peer last advertised.
	SndWnd uint32
	// State is the TCP state.
	State string
	// Unread is SIOCINQ: bytes received and not read yet.
	Unread int64
}
