// Package doctor checks a host against the known causes of socket-resource
// exhaustion and predicts where a scenario will fail first on it. It only
// reads: /proc files, the kernel log when readable, resource limits.
//
// ReadHost gathers the facts (from a directory tree, so tests can feed a
// fake /proc); Checks and Predict are pure functions of them.
package doctor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/prometheus/procfs"

	"github.com/nobufs/nobufs/hoststate"
)

// Sysctls is what ReadHost reads from proc/sys (dotted names): the
// catalogue every summary's settings snapshot reads too.
var Sysctls = hostfacts.LinuxSysctls

// Host is what doctor knows about a host. Missing facts are absent (nil
// or missing keys) and named in Unreadable.
type Host struct {
	// Sysctls maps dotted names to values, whitespace collapsed.
	Sysctls map[string]string
	// Counters holds netstat/snmp counters since boot ("TcpExt.ListenOverflows").
	Counters map[string]uint64
	Sockstat *hoststate.Sockstat
	// NoFile is this process's RLIMIT_NOFILE (Go raises the soft limit
	// to the hard one at start-up, so Soft is usually Hard).
	NoFile *hostfacts.Rlimit
	// FDs is the number of descriptors this process has open.
	FDs int
	// PageSize is the unit of tcp_mem and sockstat's mem.
	PageSize int
	// MemTotalBytes is MemTotal of /proc/meminfo.
	MemTotalBytes uint64
	// PSIMemory is /proc/pressure/memory; nil without PSI.
	PSIMemory *PSI
	// OOMKills is vmstat's oom_kill since boot; nil when absent.
	OOMKills *uint64
	// Kmsg is what the kernel log says about memory; nil when the log
	// could not be read (kernel.dmesg_restrict, no CAP_SYSLOG).
	Kmsg *KmsgFacts
	// NetDev lists interfaces with their drop and error counters.
	NetDev []NetDev
	// SoftnetDropped is the sum of softnet_stat's dropped column (packets
	// dropped because netdev_max_backlog was full); nil when unreadable.
	SoftnetDropped *uint64
	// BusyPorts counts the TCP sockets (any state, TIME_WAIT included)
	// bound to each local port, from /proc/net/tcp and tcp6; nil when
	// unreadable.
	BusyPorts map[uint16]int
	// TimeWaitPorts counts, of those, the sockets in TIME_WAIT: a port the
	// kernel picks may reuse one of them (tcp_tw_reuse) once it is older
	// than tcp_tw_reuse_delay; nil when unreadable.
	TimeWaitPorts map[uint16]int
	// PortRangeOption: the kernel takes IP_LOCAL_PORT_RANGE (Linux >= 6.3),
	// so port-exhaustion's method auto uses it inside the system range.
	PortRangeOption bool
	// Unreadable names what could not be read, with why.
	Unreadable []string
}

// PSI is one pressure file's averages (percent) and total stall time.
type PSI struct {
	SomeAvg10, SomeAvg60, FullAvg10, FullAvg60 float64
	FullTotalUS                                uint64
}

// KmsgFacts counts the kernel-log lines that matter.
type KmsgFacts struct {
	// TCPOutOfMemory counts "TCP: out of memory -- consider tuning tcp_mem".
	TCPOutOfMemory int
	// OOMKilled counts "Out of memory: Killed process" lines.
	OOMKilled int
	// Last is the last matching line.
	Last string
}

// NetDev is one line of /proc/net/dev.
type NetDev struct {
	Name                 string
	RxDropped, TxDropped uint64
	RxErrors, TxErrors   uint64
}

// Sources are where ReadHost reads from; Default is this host.
type Sources struct {
	// Root is prepended to /proc and /dev paths ("/" on a real host).
	Root string
	// NoFile returns the process's RLIMIT_NOFILE; nil: not available.
	NoFile func() (hostfacts.Rlimit, error)
	// PageSize is the page size (os.Getpagesize on a real host).
	PageSize int
	// Kmsg reads kernel log lines, at most max; nil: not read.
	Kmsg func(max int) ([]string, error)
	// PortRangeOption reports whether IP_LOCAL_PORT_RANGE works; nil: no.
	PortRangeOption func() bool
}

// Default is the Sources of this host.
func Default() Sources {
	return Sources{Root: "/", NoFile: hostfacts.NoFile, PageSize: os.Getpagesize(), Kmsg: readKmsg,
		PortRangeOption: hostfacts.PortRangeOptionSupported}
}

// maxKmsgLines bounds the kernel-log lines read.
const maxKmsgLines = 20000

// ReadHost reads the facts. It never fails: what cannot be read is named
// in Host.Unreadable.
func ReadHost(src Sources) *Host {
	h := &Host{Sysctls: map[string]string{}, Counters: map[string]uint64{}, PageSize: src.PageSize}
	miss := func(what string, err error) {
		h.Unreadable = append(h.Unreadable, what+": "+strings.Join(strings.Fields(err.Error()), " "))
	}
	proc := filepath.Join(src.Root, "proc")
	for _, n := range Sysctls {
		v, err := hostfacts.ReadSysctl(filepath.Join(proc, "sys"), n)
		switch {
		case err == nil:
			h.Sysctls[n] = v
		case errors.Is(err, fs.ErrNotExist):
			// Not on this kernel, or global and outside this namespace.
		default:
			miss(n, err)
		}
	}
	for _, f := range []string{"netstat", "snmp"} {
		b, err := os.ReadFile(filepath.Join(proc, "net", f))
		if err == nil {
			err = hoststate.ParseCounterPairs(bytes.NewReader(b), h.Counters)
		}
		if err != nil {
			miss("net/"+f, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(proc, "net", "sockstat")); err != nil {
		miss("net/sockstat", err)
	} else if ss, err := hoststate.ParseSockstat(bytes.NewReader(b)); err != nil {
		miss("net/sockstat", err)
	} else {
		h.Sockstat = ss
	}
	if src.PortRangeOption != nil {
		h.PortRangeOption = src.PortRangeOption()
	}
	if src.NoFile != nil {
		if r, err := src.NoFile(); err != nil {
			miss("RLIMIT_NOFILE", err)
		} else {
			h.NoFile = &r
		}
	}
	if ents, err := os.ReadDir(filepath.Join(proc, "self", "fd")); err != nil {
		miss("self/fd", err)
	} else {
		h.FDs = len(ents)
	}
	if b, err := os.ReadFile(filepath.Join(proc, "meminfo")); err != nil {
		miss("meminfo", err)
	} else if kb, ok := meminfoKB(b, "MemTotal"); ok {
		h.MemTotalBytes = kb * 1024
	}
	if b, err := os.ReadFile(filepath.Join(proc, "pressure", "memory")); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			miss("pressure/memory", err)
		}
	} else if p, err := parsePSI(b); err != nil {
		miss("pressure/memory", err)
	} else {
		h.PSIMemory = p
	}
	if b, err := os.ReadFile(filepath.Join(proc, "vmstat")); err != nil {
		miss("vmstat", err)
	} else if v, ok := vmstatValue(b, "oom_kill"); ok {
		h.OOMKills = &v
	}
	if src.Kmsg != nil {
		if lines, err := src.Kmsg(maxKmsgLines); err != nil {
			miss("kernel log", err)
		} else {
			h.Kmsg = scanKmsg(lines)
		}
	}
	pfs, err := procfs.NewFS(proc)
	if err != nil {
		miss("procfs", err)
		return h
	}
	if nd, err := pfs.NetDev(); err != nil {
		miss("net/dev", err)
	} else {
		for _, l := range nd {
			h.NetDev = append(h.NetDev, NetDev{Name: l.Name, RxDropped: l.RxDropped, TxDropped: l.TxDropped, RxErrors: l.RxErrors, TxErrors: l.TxErrors})
		}
		sortNetDev(h.NetDev)
	}
	busy, tw := map[uint16]int{}, map[uint16]int{}
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(proc, "net", f))
		if f == "tcp6" && errors.Is(err, fs.ErrNotExist) {
			continue // no IPv6
		}
		if err == nil {
			err = localPorts(b, busy, tw)
		}
		if err != nil {
			miss("net/"+f, err)
			busy, tw = nil, nil
			break
		}
	}
	h.BusyPorts, h.TimeWaitPorts = busy, tw
	if sn, err := pfs.NetSoftnetStat(); err != nil {
		miss("net/softnet_stat", err)
	} else {
		var d uint64
		for _, s := range sn {
			d += uint64(s.Dropped)
		}
		h.SoftnetDropped = &d
	}
	return h
}

// localPorts counts the local ports of /proc/net/tcp{,6} lines
// ("sl local_address:PORT rem_address:PORT st …", hex) into m, and those
// of TIME_WAIT sockets (st 06) into tw as well.
func localPorts(b []byte, m, tw map[uint16]int) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false // the header
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			return fmt.Errorf("%w: tcp line %q", hoststate.ErrFormat, sc.Text())
		}
		_, port, ok := strings.Cut(f[1], ":")
		v, err := strconv.ParseUint(port, 16, 16)
		if !ok || err != nil {
			return fmt.Errorf("%w: tcp local address %q", hoststate.ErrFormat, f[1])
		}
		m[uint16(v)]++
		if f[3] == "06" {
			tw[uint16(v)]++
		}
	}
	return sc.Err()
}

func sortNetDev(ds []NetDev) {
	slices.SortFunc(ds, func(a, b NetDev) int { return strings.Compare(a.Name, b.Name) })
}

func meminfoKB(b []byte, key string) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		return v, err == nil
	}
	return 0, false
}

func vmstatValue(b []byte, key string) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == key {
			v, err := strconv.ParseUint(f[1], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// parsePSI parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and
// the "full" line.
func parsePSI(b []byte) (*PSI, error) {
	var p PSI
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		kv := map[string]string{}
		for _, x := range f[1:] {
			k, v, _ := strings.Cut(x, "=")
			kv[k] = v
		}
		a10, err1 := strconv.ParseFloat(kv["avg10"], 64)
		a60, err2 := strconv.ParseFloat(kv["avg60"], 64)
		tot, err3 := strconv.ParseUint(kv["total"], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("%w: %q", hoststate.ErrFormat, sc.Text())
		}
		switch f[0] {
		case "some":
			p.SomeAvg10, p.SomeAvg60 = a10, a60
			seen++
		case "full":
			p.FullAvg10, p.FullAvg60, p.FullTotalUS = a10, a60, tot
			seen++
		}
	}
	if seen == 0 {
		return nil, fmt.Errorf("%w: no some/full line", hoststate.ErrFormat)
	}
	return &p, sc.Err()
}

func scanKmsg(lines []string) *KmsgFacts {
	k := &KmsgFacts{}
	for _, l := range lines {
		switch {
		case strings.Contains(l, "TCP: out of memory"):
			k.TCPOutOfMemory++
		case strings.Contains(l, "Out of memory: Killed process"), strings.Contains(l, "oom-kill:"):
			k.OOMKilled++
		default:
			continue
		}
		k.Last = strings.TrimSpace(l)
	}
	return k
}
