package sut

import (
	"fmt"
	"net/netip"
	"time"
)

// MaxWatchedProcs bounds the processes a PIDWatch sample covers (the
// process and its descendants).
const MaxWatchedProcs = 64

// ProcSample is one process's resources.
type ProcSample struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid"`
	Comm string `json:"comm"`
	FDs  int    `json:"fds"`
	// NoFileSoft and NoFileHard are its RLIMIT_NOFILE (/proc/PID/limits;
	// math.MaxUint64 = unlimited).
	NoFileSoft uint64 `json:"nofile_soft"`
	NoFileHard uint64 `json:"nofile_hard"`
	RSS        uint64 `json:"rss_bytes"`
	Threads    int    `json:"threads"`
}

// ListenSample is a LISTEN socket seen in /proc/PID/net/tcp{,6}: its
// address and the connections waiting in its accept queue.
type ListenSample struct {
	Addr  netip.AddrPort `json:"addr"`
	Queue uint32         `json:"queue"`
}

// PIDSample is one reading of a watched process.
type PIDSample struct {
	Time time.Time `json:"time"`
	// Procs is the process first, then its descendants (nginx's workers),
	// at most MaxWatchedProcs.
	Procs []ProcSample `json:"procs"`
	// FDs is the sum of Procs' open descriptors.
	FDs int `json:"fds"`
	// TCP counts the TCP sockets (IPv4 and IPv6) by state in the process's
	// network namespace — all of that namespace's, not only the process's.
	TCP map[string]int `json:"tcp"`
	// Listen are the LISTEN sockets of that namespace.
	Listen []ListenSample `json:"listen,omitempty"`
}

// Busiest returns the process closest to its descriptor limit (the most
// descriptors when no limit is known).
func (s PIDSample) Busiest() ProcSample {
	var best ProcSample
	bestRatio := -1.0
	for _, p := range s.Procs {
		r := float64(p.FDs)
		if p.NoFileSoft > 0 {
			r = float64(p.FDs) / float64(p.NoFileSoft)
		}
		if r > bestRatio {
			best, bestRatio = p, r
		}
	}
	return best
}

// String is a one-line summary: "fds 31/32 (pid 12 nginx), established 22, listen 1 (queue 10)".
func (s PIDSample) String() string {
	b := s.Busiest()
	out := fmt.Sprintf("fds %d/%d (pid %d %s)", b.FDs, b.NoFileSoft, b.PID, b.Comm)
	for _, st := range tcpStateNames {
		if n := s.TCP[st]; n > 0 {
			out += fmt.Sprintf(", %s %d", st, n)
		}
	}
	for _, l := range s.Listen {
		out += fmt.Sprintf(", %s queue %d", l.Addr, l.Queue)
	}
	return out
}

// tcpStateNames are the Linux TCP states (include/net/tcp_states.h) by number.
var tcpStateNames = [...]string{1: "established", 2: "syn-sent", 3: "syn-recv", 4: "fin-wait1", 5: "fin-wait2",
	6: "time-wait", 7: "close", 8: "close-wait", 9: "last-ack", 10: "listen", 11: "closing", 12: "new-syn-recv"}

// TCPStateName names a Linux TCP state number ("unknown" when out of range).
func TCPStateName(s uint8) string {
	if int(s) < len(tcpStateNames) && tcpStateNames[s] != "" {
		return tcpStateNames[s]
	}
	return "unknown"
}
