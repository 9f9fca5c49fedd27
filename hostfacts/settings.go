// Package hostfacts reads the facts of a host that decide when sockets run
// out: the settings snapshot every summary embeds (OS, kernel, memory,
// sysctls, rlimits, on Windows the Tcpip registry values), the one
// catalogue of sysctls nobufs reads, and small probes (RLIMIT_NOFILE,
// IP_LOCAL_PORT_RANGE). It only reads; nothing here changes the host.
package hostfacts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Settings is what was in force on the host when a run started.
//
// Every run summary embeds one so that results describe themselves: a
// count of ENOBUFS or EADDRNOTAVAIL means little without the port range,
// buffer limits and descriptor limits it was measured against.
//
// ReadSettings fills in what the current OS offers:
//
//   - Linux: Kernel is uname release + " " + version; MemTotalBytes comes
//     from /proc/meminfo; Sysctls holds the LinuxSysctls that exist;
//     Rlimits holds "nofile", "nproc" and "as".
//   - Darwin and the BSDs: Kernel is kern.osrelease; MemTotalBytes is
//     hw.memsize (darwin), hw.physmem64 (netbsd) or hw.physmem; Sysctls
//     holds the BSDSysctls that exist on this system; Rlimits holds
//     "nofile", "nproc" and (except on OpenBSD, which has no RLIMIT_AS)
//     "as".
//   - Windows: Kernel is "major.minor.build" (e.g. "10.0.19045") from the
//     CurrentVersion registry key; MemTotalBytes comes from
//     GlobalMemoryStatusEx; Registry holds the WindowsTcpipValues that are
//     set (an absent value means the built-in default applies).
//   - Other systems: only the portable fields.
type Settings struct {
	OS            string            `json:"os"`     // runtime.GOOS
	Arch          string            `json:"arch"`   // runtime.GOARCH
	Kernel        string            `json:"kernel"` // see the type comment
	Hostname      string            `json:"hostname"`
	NumCPU        int               `json:"num_cpu"`
	MemTotalBytes uint64            `json:"mem_total_bytes,omitempty"`
	GoVersion     string            `json:"go_version"`
	Sysctls       map[string]string `json:"sysctls,omitempty"`  // linux and bsd: dotted name → value, whitespace collapsed to single spaces
	Registry      map[string]uint64 `json:"registry,omitempty"` // windows: Tcpip\Parameters values that exist
	Rlimits       map[string]Rlimit `json:"rlimits,omitempty"`  // "nofile" at least on unix
	Errors        []string          `json:"errors,omitempty"`   // what could not be read, one line each (never fatal)
}

// Rlimit is one resource limit. RLIM_INFINITY is shown as math.MaxUint64
// on every OS (the BSDs use 1<<63-1 natively; it is translated).
type Rlimit struct {
	Soft uint64 `json:"soft"`
	Hard uint64 `json:"hard"`
}

// LinuxSysctls is the one catalogue of /proc/sys names nobufs reads on
// Linux (dotted form), in a stable order: every summary's settings
// snapshot and doctor's checks read these. Names missing on the running
// kernel (for example net.ipv4.tcp_tw_reuse_delay, which only recent
// kernels have, or host-global knobs absent inside a network namespace)
// are skipped silently.
var LinuxSysctls = []string{
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_tw_reuse",
	"net.ipv4.tcp_tw_reuse_delay",
	"net.ipv4.tcp_rfc1337",
	"net.ipv4.tcp_max_tw_buckets",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_syn_retries",
	"net.ipv4.tcp_synack_retries",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.tcp_max_syn_backlog",
	"net.core.somaxconn",
	"net.ipv4.tcp_retries2",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_mem",
	"net.ipv4.udp_mem",
	"net.core.rmem_default",
	"net.core.rmem_max",
	"net.core.wmem_default",
	"net.core.wmem_max",
	"net.core.optmem_max",
	"net.ipv4.tcp_max_orphans",
	"net.core.netdev_max_backlog",
	"net.ipv4.tcp_abort_on_overflow",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_orphan_retries",
	"net.ipv4.tcp_window_scaling",
	"net.ipv4.tcp_timestamps",
	"net.ipv4.tcp_sack",
	"fs.file-max",
	"fs.file-nr",
	"fs.nr_open",
	"kernel.dmesg_restrict",
}

// WindowsTcpipValues names the
// HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters values read on
// Windows. Most are unset on a stock install; an unset value is simply
// absent from Settings.Registry.
var WindowsTcpipValues = []string{
	"MaxUserPort",
	"TcpTimedWaitDelay",
	"TcpNumConnections",
	"TcpWindowSize",
	"GlobalMaxTcpWindowSize",
	"Tcp1323Opts",
	"SackOpts",
	"MaxFreeTcbs",
	"MaxHashTableSize",
	"TcpMaxDataRetransmissions",
}

// BSDSysctls names the sysctls read on macOS and the BSDs, in a stable
// order. Each system has only some of them (kern.ipc.somaxconn is the
// macOS name, kern.ipc.soacceptqueue the FreeBSD one; OpenBSD spells the
// port range net.inet.ip.portfirst etc. and NetBSD net.inet.ip.anonportmin
// and anonportmax); names the running kernel does not know are skipped
// silently.
var BSDSysctls = []string{
	"net.inet.ip.portrange.first",
	"net.inet.ip.portrange.last",
	"net.inet.ip.portrange.hifirst",
	"net.inet.ip.portrange.hilast",
	"kern.ipc.maxsockbuf",
	"kern.ipc.somaxconn",
	"kern.ipc.soacceptqueue",
	"kern.maxfiles",
	"kern.maxfilesperproc",
	"net.inet.tcp.sendspace",
	"net.inet.tcp.recvspace",
	"net.inet.tcp.msl",
	// OpenBSD / NetBSD spellings of the same knobs.
	"net.inet.ip.portfirst",
	"net.inet.ip.portlast",
	"net.inet.ip.porthifirst",
	"net.inet.ip.porthilast",
	"net.inet.ip.anonportmin",
	"net.inet.ip.anonportmax",
	"kern.somaxconn",
}

// ErrSysctlName is returned (wrapped) by SysctlPath and ReadSysctl for a
// name that is empty, has empty parts, or would escape the root.
var ErrSysctlName = errors.New("invalid sysctl name")

// ReadSettings takes the snapshot for this host. It never fails: what
// cannot be read is recorded, one line each, in Settings.Errors. The
// Sysctls, Registry and Rlimits maps are never nil (possibly empty). It
// only reads (files, sysctls, the registry); it changes nothing and
// starts no goroutines.
func ReadSettings() Settings {
	s := Settings{
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		NumCPU:    runtime.NumCPU(),
		GoVersion: runtime.Version(),
		// Never nil, so callers may add entries (e.g. a limit raised for
		// the run) without checking; empty maps are omitted from JSON.
		Sysctls:  map[string]string{},
		Registry: map[string]uint64{},
		Rlimits:  map[string]Rlimit{},
	}
	if h, err := os.Hostname(); err != nil {
		s.addError("hostname", err)
	} else {
		s.Hostname = h
	}
	s.readPlatform() // settings_<os>.go
	return s
}

// SysctlPath converts a dotted sysctl name to its path under root:
// ("/proc/sys", "net.core.somaxconn") → "/proc/sys/net/core/somaxconn".
//
// Every dot becomes a path separator, so names whose components contain
// dots themselves (net.ipv4.conf.eth0.100.rp_filter for VLAN interface
// "eth0.100", which sysctl(8) writes as net.ipv4.conf.eth0/100.rp_filter)
// cannot be expressed and map to the wrong path; none of LinuxSysctls is
// like that. Names that are empty, have empty parts ("a..b", ".a", "a."),
// or contain "/", "\" or NUL are rejected with an error wrapping
// ErrSysctlName, so the result always lies under root.
func SysctlPath(root, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty", ErrSysctlName)
	}
	parts := strings.Split(name, ".")
	for _, p := range parts {
		switch {
		case p == "":
			return "", fmt.Errorf("%w %q: empty component", ErrSysctlName, name)
		case strings.ContainsAny(p, "/\\\x00"):
			return "", fmt.Errorf("%w %q: contains a path separator or NUL", ErrSysctlName, name)
		}
	}
	rel := filepath.Join(parts...)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w %q: not a local path", ErrSysctlName, name)
	}
	return filepath.Join(root, rel), nil
}

// ReadSysctl reads one Linux sysctl by dotted name from root (normally
// "/proc/sys"): "net.core.somaxconn" → root/net/core/somaxconn. Runs of
// whitespace (tabs, spaces, newlines) are collapsed to single spaces and
// the result is trimmed, so "4096\t131072\t6291456\n" reads as
// "4096 131072 6291456". It is plain file reading and works on every OS.
// A missing sysctl gives an error satisfying errors.Is(err, fs.ErrNotExist).
func ReadSysctl(root, name string) (string, error) {
	p, err := SysctlPath(root, name)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("sysctl %s: %w", name, err)
	}
	return strings.Join(strings.Fields(string(b)), " "), nil
}

// addError records that what could not be read, as one line.
func (s *Settings) addError(what string, err error) {
	line := what + ": " + err.Error()
	line = strings.Join(strings.Fields(line), " ")
	s.Errors = append(s.Errors, line)
}

// setSysctl records one sysctl value, allocating the map on first use.
func (s *Settings) setSysctl(name, value string) {
	if s.Sysctls == nil {
		s.Sysctls = make(map[string]string)
	}
	s.Sysctls[name] = value
}

// setRlimit records one resource limit, allocating the map on first use.
func (s *Settings) setRlimit(name string, r Rlimit) {
	if s.Rlimits == nil {
		s.Rlimits = make(map[string]Rlimit)
	}
	s.Rlimits[name] = r
}
