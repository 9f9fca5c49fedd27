package schema

// StopGuestDied is the stop reason of a run whose VM guest died before it
// ended: a kernel panic, the guest out of memory, or qemu gone.
const StopGuestDied = "guest_died"

// VMReport describes the qemu guest a run ran in (the VM placement fills
// it; docs/vm.md): what it was booted with, what its kernel sized from
// that memory (read in the guest, not computed), what the kernel said about
// TCP memory during the run, how the guest ended, and how long booting,
// running and tearing it down took.
type VMReport struct {
	// MemoryMiB is qemu's -m; Accel kvm or tcg; Machine qemu's -M.
	MemoryMiB int    `json:"memory_mib"`
	Accel     string `json:"accel"`
	Machine   string `json:"machine"`
	// Kernel is the guest kernel: its Debian package, version and release.
	Kernel VMKernel `json:"kernel"`
	// Guest holds the facts the guest read at boot.
	Guest VMGuest `json:"guest"`
	// Sysctls holds each sysctl of vm.sysctls as read back in the guest
	// after writing it.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// BootSec is qemu's start to the guest's first record; RunSec the
	// first record to the guest's done record (or its end); TeardownSec
	// the done record (or the decision to stop it) to qemu gone; TotalSec
	// qemu's start to qemu gone.
	BootSec     float64 `json:"boot_sec"`
	RunSec      float64 `json:"run_sec"`
	TeardownSec float64 `json:"teardown_sec"`
	TotalSec    float64 `json:"total_sec"`
	// Exit is how qemu ended: guest (the guest powered off, reset or
	// panicked), error (qemu failed), or killed (nobufs stopped it:
	// ExitReason says why); ExitCode its status.
	Exit       string `json:"exit"`
	ExitReason string `json:"exit_reason,omitempty"`
	ExitCode   int    `json:"exit_code"`
	// Died is set when the guest died before its summary came out.
	Died *VMDeath `json:"died,omitempty"`
	// Failures lists what the console and the events said went wrong
	// (guest-panic, guest-oom, guest-reset), with the first line of each.
	Failures []VMFailure `json:"failures,omitempty"`
	// Events counts the guest kernel's lines worth knowing about, by kind
	// (tcp-oom: "TCP: out of memory -- consider tuning tcp_mem",
	// tcp-orphans: "too many orphaned sockets", oom, kmsg-lost), each with
	// its first time and text; the timeline has each one as an event line.
	Events []VMEventCount `json:"events,omitempty"`
	// Counters sums the guest's netstat counter deltas over the run's
	// samples (TcpExt.TCPAbortOnMemory, TcpExt.TCPMemoryPressures…; only
	// counters that moved).
	Counters map[string]uint64 `json:"counters,omitempty"`
	// TCPOOMLines counts the guest kernel's "TCP: out of memory" lines;
	// TCPAbortOnMemory (connections the kernel reset for memory) and
	// TCPMemoryPressures (times TCP entered memory pressure) are those
	// counters of Counters, for sweep columns.
	TCPOOMLines        uint64 `json:"tcp_oom_lines"`
	TCPAbortOnMemory   uint64 `json:"tcp_abort_on_memory"`
	TCPMemoryPressures uint64 `json:"tcp_memory_pressures"`
	// PeakTCPMemPages is the most TCP memory the guest's sockstat showed
	// at a sample (pages, the unit of tcp_mem) and PeakOrphans the most
	// orphaned sockets.
	PeakTCPMemPages int `json:"peak_tcp_mem_pages"`
	PeakOrphans     int `json:"peak_orphans"`
	// Records counts the records that came out of the guest; Missing the
	// sequence numbers that never did; Corrupt the lines that failed their
	// checks.
	Records int    `json:"records"`
	Missing uint64 `json:"missing,omitempty"`
	Corrupt int    `json:"corrupt,omitempty"`
	// SummaryFrom says where the summary came from: guest (its own, sent
	// at the end) or timeline (rebuilt from the lines it sent, because it
	// died first).
	SummaryFrom string `json:"summary_from"`
	// Console and QEMULog are the guest's console and qemu's own output,
	// relative to the run directory.
	Console string `json:"console"`
	QEMULog string `json:"qemu_log"`
}

// VMKernel is the guest kernel.
type VMKernel struct {
	Package string `json:"package"`
	Version string `json:"version"`
	Release string `json:"release"`
}

// VMGuest is what the guest kernel sized from its memory, read in the
// guest when it started.
type VMGuest struct {
	Release          string   `json:"release"`
	MemTotalKB       int64    `json:"mem_total_kb"`
	MemAvailableKB   int64    `json:"mem_available_kb"`
	TCPMem           [3]int64 `json:"tcp_mem"`
	TCPMemMaxBytes   int64    `json:"tcp_mem_max_bytes"`
	TCPRmem          [3]int64 `json:"tcp_rmem"`
	TCPWmem          [3]int64 `json:"tcp_wmem"`
	UDPMem           [3]int64 `json:"udp_mem"`
	TCPMaxOrphans    int64    `json:"tcp_max_orphans"`
	Somaxconn        int64    `json:"somaxconn"`
	NetdevMaxBacklog int64    `json:"netdev_max_backlog"`
	PageSize         int      `json:"page_size"`
	CPUs             int      `json:"cpus"`
	UptimeSec        float64  `json:"uptime_sec"`
	Clocksource      string   `json:"clocksource"`
	Cmdline          string   `json:"cmdline"`
}

// VMDeath is a guest's death: its class (guest-panic or guest-oom), when
// (seconds since the run's load started) and the line that said so.
type VMDeath struct {
	Class string  `json:"class"`
	AtSec float64 `json:"at_sec"`
	Line  string  `json:"line"`
}

// VMFailure is one way the guest went wrong, as lab/vm detected it.
type VMFailure struct {
	Class string  `json:"class"`
	Line  string  `json:"line"`
	Count int     `json:"count"`
	AtSec float64 `json:"at_sec"` // since qemu started
}

// VMEventCount counts one kind of guest kernel line.
type VMEventCount struct {
	Kind       string  `json:"kind"`
	Count      uint64  `json:"count"`
	FirstAtSec float64 `json:"first_at_sec"`
	First      string  `json:"first"`
}
