package sut

import "net/netip"

// ListenQueue is a listening TCP socket's accept queue, as sock_diag
// reports it: Queue connections are complete and wait for accept();
// Backlog is the most the queue holds (listen()'s backlog, capped by
// net.core.somaxconn). A queue at Backlog+1 is full: new handshakes are
// dropped (ListenOverflows).
type ListenQueue struct {
	Addr    netip.AddrPort `json:"addr"`
	Queue   uint32         `json:"queue"`
	Backlog uint32         `json:"backlog"`
	Inode   uint32         `json:"inode"`
}

// DiagSocket is one TCP socket from a sock_diag dump.
type DiagSocket struct {
	State  string         `json:"state"`
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote"`
	// RQueue and WQueue: bytes waiting to be read and not yet
	// acknowledged (for a listener: the accept queue and its backlog).
	RQueue uint32 `json:"rqueue"`
	WQueue uint32 `json:"wqueue"`
	UID    uint32 `json:"uid"`
	Inode  uint32 `json:"inode"`
	// RcvBuf and SndBuf are SO_RCVBUF and SO_SNDBUF as the kernel holds
	// them (twice what setsockopt asked), with Mem set in the query.
	RcvBuf uint32 `json:"rcvbuf,omitempty"`
	SndBuf uint32 `json:"sndbuf,omitempty"`
}

// TCP state numbers for DiagQuery.States.
const (
	StateEstablished = 1
	StateSynSent     = 2
	StateSynRecv     = 3
	StateTimeWait    = 6
	StateCloseWait   = 8
	StateListen      = 10
)

// DiagQuery selects sockets in a dump.
type DiagQuery struct {
	// States are the TCP states wanted (none: all).
	States []uint8
	// Port, when not 0, keeps only sockets with this local port (filtered
	// in the kernel).
	Port uint16
	// Mem asks for the socket memory (RcvBuf, SndBuf).
	Mem bool
}
