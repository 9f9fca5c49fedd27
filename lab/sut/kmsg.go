package sut

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrKmsgUnavailable: the kernel log cannot be read (/dev/kmsg missing, or
// reading it needs privileges nobufs lacks: CAP_SYSLOG with
// kernel.dmesg_restrict=1). The cause is wrapped (fs.ErrPermission,
// fs.ErrNotExist).
var ErrKmsgUnavailable = errors.New("kernel log (/dev/kmsg) unavailable")

// Classes of KmsgRules.
const (
	ClassKernelSYNFlood     = "kernel-syn-flood"
	ClassKernelTCPOOM       = "kernel-tcp-oom"
	ClassKernelOrphans      = "kernel-orphans"
	ClassKernelTWOverflow   = "kernel-tw-overflow"
	ClassKernelConntrack    = "kernel-conntrack-full"
	ClassKernelFileMax      = "kernel-file-max"
	ClassKernelNeighOverflw = "kernel-neigh-overflow"
	ClassKernelOOMKill      = "kernel-oom-kill"
)

// KmsgRules are the kernel's own words for socket resources running out.
var KmsgRules = []Rule{
	// "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:80. Sending cookies.  Check SNMP counters."
	{regexp.MustCompile(`Possible SYN flooding on port`), ClassKernelSYNFlood},
	// "TCP: out of memory -- consider tuning tcp_mem"
	{regexp.MustCompile(`TCP: out of memory`), ClassKernelTCPOOM},
	// "TCP: too many orphaned sockets"
	{regexp.MustCompile(`too many orphaned sockets`), ClassKernelOrphans},
	// "TCP: time wait bucket table overflow"
	{regexp.MustCompile(`time wait bucket table overflow`), ClassKernelTWOverflow},
	// "nf_conntrack: nf_conntrack: table full, dropping packet"
	{regexp.MustCompile(`nf_conntrack: table full, dropping packet`), ClassKernelConntrack},
	// "VFS: file-max limit 8192 reached"
	{regexp.MustCompile(`VFS: file-max limit \d+ reached`), ClassKernelFileMax},
	// "neighbour: arp_cache: neighbor table overflow!"
	{regexp.MustCompile(`neighbou?r table overflow`), ClassKernelNeighOverflw},
	// "Out of memory: Killed process 1234 (redis-server) ..."
	{regexp.MustCompile(`Out of memory: Killed process`), ClassKernelOOMKill},
}

// KmsgRecord is one record of /dev/kmsg.
type KmsgRecord struct {
	Level int           // syslog level, 0 (emerg) … 7 (debug)
	Seq   uint64        // the kernel's sequence number
	Time  time.Duration // since boot (the kernel's timestamp)
	Text  string        // the message, without its continuation lines
}

// KmsgEvent is a record that matched a rule.
type KmsgEvent struct {
	Class  string        `json:"class"`
	Kernel time.Duration `json:"kernel_ns"`
	Seq    uint64        `json:"seq"`
	Level  int           `json:"level"`
	Text   string        `json:"text"`
}

// KmsgSample is a KmsgWatch reading: the events since the previous sample
// (at most MaxKmsgEvents; Dropped counts the rest) and the matches since
// the start. Missed counts records the kernel overwrote before they were
// read.
type KmsgSample struct {
	Events  []KmsgEvent `json:"events,omitempty"`
	Dropped uint64      `json:"dropped,omitempty"`
	Missed  uint64      `json:"missed,omitempty"`
	LogSample
}

// MaxKmsgEvents bounds the events one sample returns.
const MaxKmsgEvents = 64

// ParseKmsg reads one /dev/kmsg record: "LEVEL,SEQ,USEC,FLAGS[,…];TEXT"
// followed by optional " KEY=VALUE" continuation lines.
func ParseKmsg(rec string) (KmsgRecord, error) {
	head, text, ok := strings.Cut(rec, ";")
	if !ok {
		return KmsgRecord{}, fmt.Errorf("kmsg record without ';': %.40q", rec)
	}
	text, _, _ = strings.Cut(text, "\n")
	f := strings.Split(head, ",")
	if len(f) < 3 {
		return KmsgRecord{}, fmt.Errorf("kmsg record header %q", head)
	}
	prio, err := strconv.Atoi(f[0])
	if err != nil {
		return KmsgRecord{}, fmt.Errorf("kmsg priority: %w", err)
	}
	seq, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return KmsgRecord{}, fmt.Errorf("kmsg sequence: %w", err)
	}
	usec, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return KmsgRecord{}, fmt.Errorf("kmsg timestamp: %w", err)
	}
	return KmsgRecord{Level: prio & 7, Seq: seq, Time: time.Duration(usec) * time.Microsecond, Text: text}, nil
}
