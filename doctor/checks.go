package doctor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Level is how a check judges its value.
type Level string

// Levels, from harmless to likely to fail.
const (
	OK      Level = "ok"
	Warn    Level = "warn"
	Risk    Level = "risk"
	Unknown Level = "unknown" // the facts could not be read
)

// Check is one judged fact about the host.
type Check struct {
	Name string `json:"name"`
	// Cause is the failure it leads to: backlog, buffers, fds, memory,
	// drops or ports.
	Cause string `json:"cause"`
	Value string `json:"value"`
	Level Level  `json:"level"`
	// Why explains the level.
	Why string `json:"why"`
	// Setting is what would change the value.
	Setting string `json:"setting"`
}

// checkFuncs are the checks, in the order they are printed.
var checkFuncs = []func(*Host) Check{
	checkSomaxconn,
	checkSynBacklog,
	checkListenOverflows,
	checkRmemMax,
	checkWmemMax,
	checkNoFile,
	checkFileNr,
	checkMemPressure,
	checkOOM,
	checkTCPMem,
	checkTCPRmem,
	checkTCPWmem,
	checkUDPMem,
	checkOrphans,
	checkIfaceDrops,
	checkNetdevBacklog,
	checkPortRange,
	checkTimeWait,
}

// Checks judges every fact of h. It reads nothing itself.
func Checks(h *Host) []Check {
	cs := make([]Check, 0, len(checkFuncs))
	for _, f := range checkFuncs {
		cs = append(cs, f(h))
	}
	return cs
}

// sysInts returns the integer fields of a sysctl ("4096 131072 6291456").
func (h *Host) sysInts(name string) ([]int64, bool) {
	v, ok := h.Sysctls[name]
	if !ok {
		return nil, false
	}
	var out []int64
	for _, f := range strings.Fields(v) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

func (h *Host) sysInt(name string) (int64, bool) {
	v, ok := h.sysInts(name)
	if !ok {
		return 0, false
	}
	return v[0], true
}

func unknown(name, cause, setting, what string) Check {
	return Check{Name: name, Cause: cause, Level: Unknown, Value: "?", Why: what + " could not be read", Setting: setting}
}

func checkSomaxconn(h *Host) Check {
	const name, cause, set = "somaxconn", "backlog", "sysctl net.core.somaxconn (per network namespace); the listener's own listen() backlog"
	v, ok := h.sysInt("net.core.somaxconn")
	if !ok {
		return unknown(name, cause, set, "net.core.somaxconn")
	}
	c := Check{Name: name, Cause: cause, Value: fmt.Sprint(v), Setting: set, Level: OK, Why: "accept queues may hold this many connections"}
	switch {
	case v < 128:
		c.Level, c.Why = Risk, "an accept queue holds at most this many connections; bursts of connects overflow it (ListenOverflows)"
	case v < 1024:
		c.Level, c.Why = Warn, "below 1024: a burst of connects to a slow acceptor overflows the accept queue (Linux >= 5.4 defaults to 4096)"
	}
	return c
}

func checkSynBacklog(h *Host) Check {
	const name, cause, set = "tcp_max_syn_backlog", "backlog", "sysctl net.ipv4.tcp_max_syn_backlog and net.ipv4.tcp_syncookies (per network namespace)"
	v, ok := h.sysInt("net.ipv4.tcp_max_syn_backlog")
	if !ok {
		return unknown(name, cause, set, "net.ipv4.tcp_max_syn_backlog")
	}
	cookies, _ := h.sysInt("net.ipv4.tcp_syncookies")
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("%d (syncookies %d)", v, cookies), Setting: set, Level: OK,
		Why: "half-open connections a listener may queue"}
	switch {
	case v < 128 && cookies == 0:
		c.Level, c.Why = Risk, "small SYN queue and no syncookies: further SYNs are dropped and connects time out"
	case v < 128:
		c.Level, c.Why = Warn, "small SYN queue; syncookies answer the overflow (TCP options are lost)"
	case cookies == 0:
		c.Level, c.Why = Warn, "syncookies off: once the SYN queue is full, SYNs are dropped"
	}
	return c
}

func checkListenOverflows(h *Host) Check {
	const name, cause, set = "listen overflows", "backlog", "raise net.core.somaxconn and the listen() backlog; accept faster"
	ov, ok1 := h.Counters["TcpExt.ListenOverflows"]
	dr, ok2 := h.Counters["TcpExt.ListenDrops"]
	if !ok1 || !ok2 {
		return unknown(name, cause, set, "TcpExt ListenOverflows/ListenDrops (/proc/net/netstat)")
	}
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("ListenOverflows %d, ListenDrops %d since boot", ov, dr), Setting: set, Level: OK,
		Why: "no connection was dropped for a full accept queue"}
	if ov > 0 || dr > 0 {
		c.Level, c.Why = Warn, "connections were dropped because an accept queue was full"
	}
	return c
}

// linuxDefaultSockBufMax is net.core.{r,w}mem_max's default (212992).
const linuxDefaultSockBufMax = 212992

func sockBufMax(h *Host, name, opt string) Check {
	sys := "net.core." + name
	set := "sysctl " + sys + " (host-global; read-only inside a network namespace)"
	v, ok := h.sysInt(sys)
	if !ok {
		return unknown(name, "buffers", set, sys)
	}
	c := Check{Name: name, Cause: "buffers", Value: fmt.Sprintf("%d bytes", v), Setting: set, Level: OK,
		Why: fmt.Sprintf("%s requests above this are silently capped (the kernel doubles the value set)", opt)}
	if v < linuxDefaultSockBufMax {
		c.Level, c.Why = Warn, fmt.Sprintf("below Linux's default %d: %s requests are capped lower than usual", linuxDefaultSockBufMax, opt)
	}
	return c
}

func checkRmemMax(h *Host) Check { return sockBufMax(h, "rmem_max", "SO_RCVBUF") }
func checkWmemMax(h *Host) Check { return sockBufMax(h, "wmem_max", "SO_SNDBUF") }

func checkNoFile(h *Host) Check {
	const name, cause, set = "RLIMIT_NOFILE", "fds", "ulimit -n / systemd LimitNOFILE= / limits.conf (hard limit capped by fs.nr_open); a scenario's limits.nofile"
	if h.NoFile == nil {
		return unknown(name, cause, set, "RLIMIT_NOFILE")
	}
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("soft %s, hard %s", rlim(h.NoFile.Soft), rlim(h.NoFile.Hard)), Setting: set, Level: OK,
		Why: "one descriptor per socket; Go raises the soft limit to the hard one at start-up"}
	switch {
	case h.NoFile.Hard < 4096:
		c.Level, c.Why = Risk, "fewer than 4096 sockets per process: EMFILE comes early"
	case h.NoFile.Hard < 65536:
		c.Level, c.Why = Warn, "fewer than 65536 sockets per process"
	}
	return c
}

func rlim(v uint64) string {
	if v == math.MaxUint64 {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

func checkFileNr(h *Host) Check {
	const name, cause, set = "file-max", "fds", "sysctl fs.file-max (host-global)"
	nr, ok1 := h.sysInts("fs.file-nr")
	fm, ok2 := h.sysInt("fs.file-max")
	if !ok1 || !ok2 || len(nr) < 1 {
		return unknown(name, cause, set, "fs.file-nr / fs.file-max")
	}
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("%d of %d open system-wide", nr[0], fm), Setting: set, Level: OK,
		Why: "system-wide open files (ENFILE when full)"}
	switch r := float64(nr[0]) / float64(fm); {
	case r >= 0.9:
		c.Level, c.Why = Risk, "over 90% of the system-wide file table is in use: ENFILE is near"
	case r >= 0.5:
		c.Level, c.Why = Warn, "over half of the system-wide file table is in use"
	}
	return c
}

func checkMemPressure(h *Host) Check {
	const name, cause, set = "memory pressure", "memory", "more RAM, fewer or smaller processes; a memory cgroup limit for the harness"
	p := h.PSIMemory
	if p == nil {
		return unknown(name, cause, set, "/proc/pressure/memory (PSI)")
	}
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("some avg10 %.2f%%, full avg10 %.2f%%, full avg60 %.2f%%", p.SomeAvg10, p.FullAvg10, p.FullAvg60), Setting: set, Level: OK,
		Why: "tasks are rarely stalled on memory"}
	switch {
	case p.FullAvg10 >= 5 || p.FullAvg60 >= 5:
		c.Level, c.Why = Risk, "all tasks stalled on memory part of the time: reclaim is heavy; socket buffers compete with it"
	case p.SomeAvg10 >= 10:
		c.Level, c.Why = Warn, "some tasks stalled on memory over 10% of the last 10 s"
	}
	return c
}

func checkOOM(h *Host) Check {
	const name, cause, set = "oom kills", "memory", "more RAM or smaller tcp_mem/udp_mem; kernel.dmesg_restrict=0 or CAP_SYSLOG to read the log"
	if h.OOMKills == nil && h.Kmsg == nil {
		return unknown(name, cause, set, "vmstat oom_kill and the kernel log")
	}
	var parts []string
	c := Check{Name: name, Cause: cause, Setting: set, Level: OK, Why: "no OOM kill and no \"TCP: out of memory\" seen"}
	if h.OOMKills != nil {
		parts = append(parts, fmt.Sprintf("oom_kill %d since boot", *h.OOMKills))
		if *h.OOMKills > 0 {
			c.Level, c.Why = Warn, "the OOM killer has run since boot"
		}
	}
	if k := h.Kmsg; k != nil {
		parts = append(parts, fmt.Sprintf("kernel log: %d \"TCP: out of memory\", %d OOM kills", k.TCPOutOfMemory, k.OOMKilled))
		if k.OOMKilled > 0 && c.Level == OK {
			c.Level, c.Why = Warn, "the kernel log shows OOM kills"
		}
		if k.TCPOutOfMemory > 0 {
			c.Level, c.Why = Risk, "TCP ran out of memory (tcp_mem max): orphaned connections were reset; last: "+k.Last
		}
	} else {
		parts = append(parts, "kernel log not readable")
	}
	c.Value = strings.Join(parts, "; ")
	return c
}

// memCheck compares sockstat's pages with a [min pressure max] triple.
func memCheck(h *Host, name, sys string, used *int, counters string) Check {
	set := "sysctl net.ipv4." + name + " (host-global, sized from RAM at boot; vary it in a VM)"
	t, ok := h.sysInts(sys)
	if !ok || len(t) != 3 || used == nil {
		return unknown(name, "memory", set, sys+" and /proc/net/sockstat")
	}
	pg := int64(h.PageSize)
	if pg <= 0 {
		pg = 4096
	}
	c := Check{Name: name, Cause: "memory", Setting: set, Level: OK,
		Value: fmt.Sprintf("%d pages in use; pressure %d, max %d pages (%s)", *used, t[1], t[2], mib(t[2]*pg)),
		Why:   "socket memory is far below the pressure threshold"}
	switch u := int64(*used); {
	case u >= t[2]:
		c.Level, c.Why = Risk, "at the maximum: new buffer allocations fail, orphans are reset"
	case u >= t[1]:
		c.Level, c.Why = Risk, "above the pressure threshold: buffers are being shrunk"
	case u*2 >= t[1]:
		c.Level, c.Why = Warn, "over half of the pressure threshold"
	}
	if counters != "" {
		c.Value += "; " + counters
	}
	return c
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func checkTCPMem(h *Host) Check {
	var used *int
	if h.Sockstat != nil {
		used = &h.Sockstat.TCPMemPages
	}
	var cs string
	mp, ok1 := h.Counters["TcpExt.TCPMemoryPressures"]
	ab, ok2 := h.Counters["TcpExt.TCPAbortOnMemory"]
	if ok1 && ok2 {
		cs = fmt.Sprintf("TCPMemoryPressures %d, TCPAbortOnMemory %d since boot", mp, ab)
	}
	c := memCheck(h, "tcp_mem", "net.ipv4.tcp_mem", used, cs)
	if c.Level == OK && ab > 0 {
		c.Level, c.Why = Warn, "connections were aborted for lack of TCP memory since boot"
	} else if c.Level == OK && mp > 0 {
		c.Level, c.Why = Warn, "TCP entered memory pressure since boot"
	}
	return c
}

func checkUDPMem(h *Host) Check {
	var used *int
	if h.Sockstat != nil {
		used = &h.Sockstat.UDPMemPages
	}
	var cs string
	se, ok1 := h.Counters["Udp.SndbufErrors"]
	re, ok2 := h.Counters["Udp.RcvbufErrors"]
	if ok1 && ok2 {
		cs = fmt.Sprintf("Udp SndbufErrors %d, RcvbufErrors %d since boot", se, re)
	}
	c := memCheck(h, "udp_mem", "net.ipv4.udp_mem", used, cs)
	if c.Level == OK && (se > 0 || re > 0) {
		c.Level, c.Why = Warn, "UDP datagrams were dropped for full buffers (or a full qdisc) since boot"
	}
	return c
}

func tcpBuf(h *Host, name, opt string) Check {
	sys := "net.ipv4." + name
	set := "sysctl " + sys + " (per network namespace); " + opt + " per socket"
	t, ok := h.sysInts(sys)
	if !ok || len(t) != 3 {
		return unknown(name, "buffers", set, sys)
	}
	c := Check{Name: name, Cause: "buffers", Value: fmt.Sprintf("min %d, default %d, max %d bytes", t[0], t[1], t[2]), Setting: set, Level: OK,
		Why: "autotuning may grow a socket's buffer to max"}
	if t[2] < 1<<20 {
		c.Level, c.Why = Warn, "max below 1 MiB (a small-RAM host): fewer bytes in flight per connection"
	}
	return c
}

func checkTCPRmem(h *Host) Check { return tcpBuf(h, "tcp_rmem", "SO_RCVBUF") }
func checkTCPWmem(h *Host) Check { return tcpBuf(h, "tcp_wmem", "SO_SNDBUF") }

func checkOrphans(h *Host) Check {
	const name, cause, set = "tcp_max_orphans", "memory", "sysctl net.ipv4.tcp_max_orphans (host-global)"
	m, ok := h.sysInt("net.ipv4.tcp_max_orphans")
	if !ok || h.Sockstat == nil {
		return unknown(name, cause, set, "net.ipv4.tcp_max_orphans and /proc/net/sockstat")
	}
	o := int64(h.Sockstat.TCPOrphan)
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("%d orphans of %d", o, m), Setting: set, Level: OK,
		Why: "closed sockets still sending are far below the limit"}
	switch {
	case o >= m:
		c.Level, c.Why = Risk, "at the limit: further orphans are reset at once"
	case o*2 >= m:
		c.Level, c.Why = Warn, "over half the orphan limit"
	}
	return c
}

func checkIfaceDrops(h *Host) Check {
	const name, cause, set = "interface drops", "drops", "qdisc limits (tc), ring sizes (ethtool -G), net.core.netdev_max_backlog"
	if h.NetDev == nil {
		return unknown(name, cause, set, "/proc/net/dev")
	}
	var parts []string
	for _, d := range h.NetDev {
		if d.RxDropped+d.TxDropped+d.RxErrors+d.TxErrors > 0 {
			parts = append(parts, fmt.Sprintf("%s rx_dropped %d tx_dropped %d rx_errors %d tx_errors %d", d.Name, d.RxDropped, d.TxDropped, d.RxErrors, d.TxErrors))
		}
	}
	c := Check{Name: name, Cause: cause, Setting: set, Level: OK, Value: fmt.Sprintf("no drops on %d interfaces", len(h.NetDev)), Why: "no interface dropped packets"}
	if len(parts) > 0 {
		c.Value, c.Level, c.Why = strings.Join(parts, "; "), Warn, "an interface dropped packets since it came up (a full qdisc on send gives ENOBUFS with IP_RECVERR)"
	}
	return c
}

func checkNetdevBacklog(h *Host) Check {
	const name, cause, set = "netdev_max_backlog", "drops", "sysctl net.core.netdev_max_backlog (host-global)"
	v, ok := h.sysInt("net.core.netdev_max_backlog")
	if !ok || h.SoftnetDropped == nil {
		return unknown(name, cause, set, "net.core.netdev_max_backlog and /proc/net/softnet_stat")
	}
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("%d; softnet dropped %d since boot", v, *h.SoftnetDropped), Setting: set, Level: OK,
		Why: "no packet was dropped for a full per-CPU input queue"}
	if *h.SoftnetDropped > 0 {
		c.Level, c.Why = Warn, "packets were dropped because the per-CPU input queue (netdev_max_backlog) was full"
	}
	return c
}

// portRange returns the ephemeral range and its size.
func (h *Host) portRange() (lo, hi int64, ok bool) {
	r, ok := h.sysInts("net.ipv4.ip_local_port_range")
	if !ok || len(r) != 2 || r[0] > r[1] {
		return 0, 0, false
	}
	return r[0], r[1], true
}

func checkPortRange(h *Host) Check {
	const name, cause, set = "ip_local_port_range", "ports", "sysctl net.ipv4.ip_local_port_range (per network namespace); Windows: MaxUserPort"
	lo, hi, ok := h.portRange()
	if !ok {
		return unknown(name, cause, set, "net.ipv4.ip_local_port_range")
	}
	n := hi - lo + 1
	c := Check{Name: name, Cause: cause, Value: fmt.Sprintf("%d-%d (%d ports)", lo, hi, n), Setting: set, Level: OK,
		Why: "ephemeral ports per destination address and port"}
	if rs := h.Sysctls["net.ipv4.ip_local_reserved_ports"]; rs != "" {
		c.Value += ", reserved " + rs
	}
	switch {
	case n < 5000:
		c.Level, c.Why = Risk, "fewer than 5000 ports: a client closing first runs out within a TIME_WAIT (EADDRNOTAVAIL)"
	case n < 16384:
		c.Level, c.Why = Warn, "fewer than 16384 ports per destination"
	}
	return c
}

func checkTimeWait(h *Host) Check {
	const name, cause, set = "TIME_WAIT", "ports", "close on the server side first; sysctl net.ipv4.tcp_tw_reuse=1 (per namespace); a wider ip_local_port_range"
	lo, hi, ok := h.portRange()
	if !ok || h.Sockstat == nil {
		return unknown(name, cause, set, "/proc/net/sockstat and the port range")
	}
	n := hi - lo + 1
	tw := int64(h.Sockstat.TCPTimeWait)
	reuse, _ := h.sysInt("net.ipv4.tcp_tw_reuse")
	buckets, hasB := h.sysInt("net.ipv4.tcp_max_tw_buckets")
	c := Check{Name: name, Cause: cause, Setting: set, Level: OK,
		Value: fmt.Sprintf("%d sockets; tcp_tw_reuse %d", tw, reuse),
		Why:   "few TIME_WAIT sockets hold ports"}
	if hasB {
		c.Value += fmt.Sprintf(", tcp_max_tw_buckets %d", buckets)
	}
	if ov := h.Counters["TcpExt.TCPTimeWaitOverflow"]; ov > 0 {
		c.Value += fmt.Sprintf(", TCPTimeWaitOverflow %d since boot", ov)
	}
	switch {
	case tw >= n:
		c.Level, c.Why = Risk, "as many TIME_WAIT sockets as ephemeral ports: a client toward one destination may be out of ports now"
	case tw*2 >= n:
		c.Level, c.Why = Warn, "TIME_WAIT sockets amount to over half the port range (each holds a port toward its destination for 60 s)"
	}
	return c
}
