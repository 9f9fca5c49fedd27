// Package vmlab is the VM placement: a run inside a qemu guest booted with
// the memory of the scenario's vm section, so that the TCP limits the
// kernel sizes from RAM at boot (tcp_mem, tcp_max_orphans, the tcp_rmem and
// tcp_wmem maxima) are those of a machine of that size — the /MAXMEM
// experiment of Tor's Bug #98, on Linux.
//
// The host side is Placement (a workers.Placement): it builds an initramfs
// whose /init is a static nobufs and which holds the resolved scenario,
// boots it with lab/vm.Run, writes the timeline lines the guest streams out
// into the run's timeline as they arrive, turns the guest kernel's TCP
// memory lines into event lines, and makes the summary: the guest's own,
// or, when the guest died first, one rebuilt from its timeline with the
// death as the time-to-failure (class guest-panic or guest-oom). The VM
// section of the summary says what the guest booted with and how long
// booting, running and tearing it down took.
//
// The guest side is GuestMain: cmd/nobufs calls it when it runs as PID 1
// with NOBUFS_GUEST set. It runs the scenario through the engine with the
// host placement inside the guest (client and target on the guest's
// loopback), after writing the vm section's sysctls and descriptor limit.
//
// docs/vm.md describes it.
package vmlab

import (
	"errors"
)

// Environment of the guest: the words of the kernel command line that the
// kernel hands to /init as its environment.
const (
	// EnvGuest tells nobufs it is the /init of a VM placement's guest.
	EnvGuest = "NOBUFS_GUEST"
	// envSampleMS is the timeline interval in milliseconds, when not 1 s.
	envSampleMS = "NOBUFS_GUEST_SAMPLE_MS"
	// envHostState is 1 when the host asked for host state in samples.
	envHostState = "NOBUFS_GUEST_HOSTSTATE"
)

// EnvInit names the static nobufs binary booted as the guest's /init,
// when it is not the running program (which must then be static itself:
// make build).
const EnvInit = "NOBUFS_VM_INIT"

// ScenarioPath is where the resolved scenario is in the guest's image.
const ScenarioPath = "/etc/nobufs/scenario.yaml"

// Record types the placement adds to lab/vm's (facts, event, line, done).
const (
	// TypeSysctls: the vm section's sysctls as read back in the guest
	// after writing them (name → value).
	TypeSysctls = "sysctls"
	// TypeRunStart: the guest kernel's clock when the load started, to
	// place the kernel's lines on the run's clock.
	TypeRunStart = "run-start"
	// TypeTimeline: one timeline line, the JSON object itself.
	TypeTimeline = "timeline"
	// TypeSummary: the run's summary, the last record before done.
	TypeSummary = "summary"
)

// RunStart is the payload of a run-start record.
type RunStart struct {
	// KernelUS is the guest's kernel log clock (µs since boot) when the
	// load started: /dev/kmsg's timestamps are on it.
	KernelUS int64 `json:"kernel_us"`
	// Source says how it was read: kmsg (a marker line read back from the
	// kernel log) or monotonic (CLOCK_MONOTONIC, close to it).
	Source string `json:"source"`
}

// Errors of the placement.
var (
	// ErrUnavailable: the VM placement cannot run here (no qemu, no guest
	// kernel, no static nobufs to boot).
	ErrUnavailable = errors.New("vm placement unavailable")
	// ErrGuest: the guest failed before the load started, or the run in it
	// failed to start (the guest's done record says why).
	ErrGuest = errors.New("vm guest failed")
)
