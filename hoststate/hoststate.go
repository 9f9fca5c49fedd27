// Package hoststate samples the kernel's view of sockets for the run
// timeline: sockets per TCP state, socket memory (sockstat), deltas of the
// netstat/snmp counters that tell why sockets fail, qdisc drops, and the
// harness's own open descriptors. A Sampler reads the host's network
// namespace or a given one (a lab cell's).
//
// It also holds the parsers of those /proc files, shared with doctor.
package hoststate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// State is one sample: what Sampler.Sample returns and what a timeline
// sample carries as its "host" field. docs/hoststate.md describes it.
type State struct {
	// TCP counts sockets per TCP state (IPv4 and IPv6 together).
	TCP TCPStates `json:"tcp"`
	// TCPSource says how TCP was counted: "sock_diag" or "proc".
	TCPSource string `json:"tcp_source,omitempty"`
	// Sockstat is /proc/net/sockstat: socket counts and memory in pages.
	Sockstat *Sockstat `json:"sockstat,omitempty"`
	// Counters holds the increase of each counter in Counters since the
	// previous sample (the first sample: since the Sampler was made).
	// Counters that did not move are left out.
	Counters map[string]uint64 `json:"counters,omitempty"`
	// Qdiscs lists the queueing disciplines of the namespace's interfaces.
	Qdiscs []Qdisc `json:"qdiscs,omitempty"`
	// FDs is the number of descriptors this process has open.
	FDs int `json:"fds"`
	// Errors says what could not be read, one line each.
	Errors []string `json:"errors,omitempty"`
}

// TCPStates counts TCP sockets per state. SynRecv includes request
// sockets (half-open connections in a listener's SYN queue); TimeWait
// counts the kernel's timewait sockets.
type TCPStates struct {
	Established int `json:"established"`
	SynSent     int `json:"syn_sent"`
	SynRecv     int `json:"syn_recv"`
	FinWait1    int `json:"fin_wait1"`
	FinWait2    int `json:"fin_wait2"`
	TimeWait    int `json:"time_wait"`
	Close       int `json:"close"`
	CloseWait   int `json:"close_wait"`
	LastAck     int `json:"last_ack"`
	Listen      int `json:"listen"`
	Closing     int `json:"closing"`
	Other       int `json:"other,omitempty"`
}

// add counts one socket in Linux TCP state st (include/net/tcp_states.h).
func (t *TCPStates) add(st uint8) {
	switch st {
	case 1:
		t.Established++
	case 2:
		t.SynSent++
	case 3, 12: // TCP_SYN_RECV, TCP_NEW_SYN_RECV (request sockets)
		t.SynRecv++
	case 4:
		t.FinWait1++
	case 5:
		t.FinWait2++
	case 6:
		t.TimeWait++
	case 7:
		t.Close++
	case 8:
		t.CloseWait++
	case 9:
		t.LastAck++
	case 10:
		t.Listen++
	case 11:
		t.Closing++
	default:
		t.Other++
	}
}

// Total is the number of sockets counted.
func (t TCPStates) Total() int {
	return t.Established + t.SynSent + t.SynRecv + t.FinWait1 + t.FinWait2 + t.TimeWait +
		t.Close + t.CloseWait + t.LastAck + t.Listen + t.Closing + t.Other
}

// Sockstat is the content of /proc/net/sockstat. Memory is in pages (the
// unit of net.ipv4.tcp_mem and udp_mem).
type Sockstat struct {
	SocketsUsed int `json:"sockets_used"`
	TCPInUse    int `json:"tcp_inuse"`
	TCPOrphan   int `json:"tcp_orphan"`
	TCPTimeWait int `json:"tcp_tw"`
	TCPAlloc    int `json:"tcp_alloc"`
	TCPMemPages int `json:"tcp_mem_pages"`
	UDPInUse    int `json:"udp_inuse"`
	UDPMemPages int `json:"udp_mem_pages"`
}

// Qdisc is one queueing discipline and its statistics. Drops is the
// increase since the previous sample; the *Total fields are the kernel's
// counters since the qdisc was created.
type Qdisc struct {
	Dev             string `json:"dev"`
	Kind            string `json:"kind"`
	Handle          string `json:"handle"`
	Parent          string `json:"parent"`
	Drops           uint64 `json:"drops"`
	DropsTotal      uint64 `json:"drops_total"`
	OverlimitsTotal uint64 `json:"overlimits_total"`
	RequeuesTotal   uint64 `json:"requeues_total"`
	Backlog         uint32 `json:"backlog_bytes"`
	Qlen            uint32 `json:"qlen"`
}

// Counters names the netstat/snmp counters whose deltas a sample
// carries, as "Section.Name" of /proc/net/netstat, /proc/net/snmp and
// /proc/net/snmp6 (whose names carry their section: "Udp6.SndbufErrors"
// is snmp6's Udp6SndbufErrors).
var Counters = []string{
	// Accept queue and SYN queue.
	"TcpExt.ListenOverflows",
	"TcpExt.ListenDrops",
	"TcpExt.TCPReqQFullDrop",
	"TcpExt.TCPReqQFullDoCookies",
	"TcpExt.SyncookiesSent",
	"TcpExt.SyncookiesFailed",
	// Memory.
	"TcpExt.TCPMemoryPressures",
	"TcpExt.TCPAbortOnMemory",
	"TcpExt.PruneCalled",
	"TcpExt.TCPRcvQDrop",
	"TcpExt.TCPBacklogDrop",
	// TIME_WAIT and aborts.
	"TcpExt.TCPTimeWaitOverflow",
	"TcpExt.TW",
	"TcpExt.TCPAbortOnTimeout",
	"TcpExt.TCPAbortOnData",
	"TcpExt.TCPAbortOnClose",
	"TcpExt.TCPAbortOnLinger",
	"TcpExt.TCPAbortFailed",
	// TCP totals.
	"Tcp.ActiveOpens",
	"Tcp.PassiveOpens",
	"Tcp.AttemptFails",
	"Tcp.EstabResets",
	"Tcp.OutRsts",
	"Tcp.RetransSegs",
	"Tcp.InErrs",
	// UDP: buffer errors are where a silent ENOBUFS shows.
	"Udp.SndbufErrors",
	"Udp.RcvbufErrors",
	"Udp.InErrors",
	"Udp.NoPorts",
	"Udp6.SndbufErrors",
	"Udp6.RcvbufErrors",
	"Udp6.InErrors",
	// IP.
	"Ip.OutDiscards",
	"Ip.OutNoRoutes",
}

// ErrFormat is returned (wrapped) when a /proc file does not have the
// expected layout.
var ErrFormat = errors.New("unexpected format")

// ParseCounterPairs parses /proc/net/netstat or /proc/net/snmp: pairs of
// lines "Section: Name1 Name2…" and "Section: v1 v2…". It adds
// "Section.Name" → value to m. Values that do not fit a uint64 (snmp's
// Tcp MaxConn is -1) are skipped.
func ParseCounterPairs(r io.Reader, m map[string]uint64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		head := sc.Text()
		if !sc.Scan() {
			return fmt.Errorf("%w: header line %q without values", ErrFormat, trunc(head))
		}
		vals := sc.Text()
		hs, hn, ok1 := strings.Cut(head, ":")
		vs, vn, ok2 := strings.Cut(vals, ":")
		if !ok1 || !ok2 || hs != vs {
			return fmt.Errorf("%w: lines %q and %q do not pair", ErrFormat, trunc(head), trunc(vals))
		}
		names, values := strings.Fields(hn), strings.Fields(vn)
		if len(names) != len(values) {
			return fmt.Errorf("%w: section %s has %d names and %d values", ErrFormat, hs, len(names), len(values))
		}
		for i, n := range names {
			v, err := strconv.ParseUint(values[i], 10, 64)
			if err != nil {
				continue
			}
			m[hs+"."+n] = v
		}
	}
	return sc.Err()
}

// ParseSnmp6 parses /proc/net/snmp6 ("Udp6SndbufErrors  0" lines) into m
// as "Udp6.SndbufErrors", "Ip6.OutDiscards", "Icmp6.…".
func ParseSnmp6(r io.Reader, m map[string]uint64) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		name := f[0]
		for _, sec := range []string{"UdpLite6", "Udp6", "Ip6", "Icmp6"} {
			if rest, ok := strings.CutPrefix(name, sec); ok {
				name = sec + "." + rest
				break
			}
		}
		m[name] = v
	}
	return sc.Err()
}

// ParseSockstat parses /proc/net/sockstat.
func ParseSockstat(r io.Reader) (*Sockstat, error) {
	var s Sockstat
	sc := bufio.NewScanner(r)
	seen := false
	for sc.Scan() {
		sec, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("%w: sockstat line %q", ErrFormat, trunc(sc.Text()))
		}
		kv := map[string]int{}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.Atoi(f[i+1])
			if err != nil {
				return nil, fmt.Errorf("%w: sockstat %s %s: %w", ErrFormat, sec, f[i], err)
			}
			kv[f[i]] = v
		}
		switch sec {
		case "sockets":
			s.SocketsUsed = kv["used"]
		case "TCP":
			seen = true
			s.TCPInUse, s.TCPOrphan, s.TCPTimeWait, s.TCPAlloc, s.TCPMemPages = kv["inuse"], kv["orphan"], kv["tw"], kv["alloc"], kv["mem"]
		case "UDP":
			s.UDPInUse, s.UDPMemPages = kv["inuse"], kv["mem"]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !seen {
		return nil, fmt.Errorf("%w: sockstat has no TCP line", ErrFormat)
	}
	return &s, nil
}

// deltas returns cur - prev for the names in Counters that moved. A
// counter that went backwards (reset) counts from zero; one missing from
// either reading has no delta.
func deltas(prev, cur map[string]uint64) map[string]uint64 {
	var d map[string]uint64
	for _, n := range Counters {
		c, ok := cur[n]
		p, had := prev[n]
		if !ok || !had {
			continue // no reading, or no baseline to count from
		}
		if c < p {
			p = 0
		}
		if c > p {
			if d == nil {
				d = map[string]uint64{}
			}
			d[n] = c - p
		}
	}
	return d
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Options says which network namespace a Sampler reads.
type Options struct {
	// NetNS is the path of a network namespace (/var/run/netns/NAME,
	// /proc/PID/ns/net). Empty: the namespace the process started in.
	NetNS string
	// NetNSFile is an open network namespace, used when NetNS is empty.
	// The caller keeps it and closes it after Sampler.Close.
	NetNSFile interface{ Fd() uintptr }
}

// ErrUnsupported is returned by New on systems other than Linux.
var ErrUnsupported = errors.New("host state sampling needs Linux")
