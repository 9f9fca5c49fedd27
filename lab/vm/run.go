package vm

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Config describes one guest run.
type Config struct {
	Kernel    string // the vmlinuz (Kernel.Path)
	Initrd    string // the gzip'd cpio image (BuildInitramfs)
	MemoryMiB int    // guest memory, qemu -m, in MiB
	// Dir receives console.log (the guest's console, ttyS0, as it came) and
	// qemu.log (qemu's own output). It must exist.
	Dir string
	// Append holds more kernel command-line words. The kernel hands the
	// words it does not know, such as "NOBUFS_MODE=x", to /init as its
	// environment.
	Append []string
	// Machine is the qemu machine type (-M); "" is DefaultMachine.
	Machine string
	// ACPI keeps ACPI on. Off (the default) adds acpi=off, which boots
	// faster under TCG; the guest package then ends the guest by a reset,
	// which -no-reboot turns into qemu's exit.
	ACPI bool
	// Verbose drops "quiet" from the kernel command line, so that the
	// console holds the whole kernel log.
	Verbose bool
	// Accel is "kvm" or "tcg"; "" picks kvm when it is usable, else tcg.
	Accel string
	// QEMU is the qemu binary; "" is qemu-system-x86_64 on $PATH.
	QEMU string
	// BootTimeout bounds qemu's start to the first record (default 60 s);
	// past it the guest is stopped and Run returns ErrBootTimeout.
	BootTimeout time.Duration
	// RunTimeout bounds the first record to the done record (default 10
	// min); past it the guest is stopped and Run returns ErrRunTimeout.
	RunTimeout time.Duration
	// ExitTimeout bounds the done record to qemu's exit (default 10 s): a
	// guest that said done but does not end is stopped (not an error).
	ExitTimeout time.Duration
	// Grace is how long qemu has to end after SIGTERM before SIGKILL
	// (default 3 s).
	Grace time.Duration
	// OnRecord, when set, is called with each record as it arrives, in
	// order, on the goroutine that called Run, never after Run returns. A
	// slow OnRecord slows the guest (the serial port backs up) and delays
	// the timeouts.
	OnRecord func(Record)
}

// DefaultMachine is the qemu machine type Run uses: under TCG, q35 with
// acpi=off boots fastest of those measured (docs/vm-notes.md); microvm hangs
// in TSC calibration.
const DefaultMachine = "q35"

// Defaults of Config's durations.
const (
	DefaultBootTimeout = 60 * time.Second
	DefaultRunTimeout  = 10 * time.Minute
	DefaultExitTimeout = 10 * time.Second
	DefaultGrace       = 3 * time.Second
)

// Errors of Run.
var (
	// ErrBootTimeout: no record arrived within Config.BootTimeout.
	ErrBootTimeout = errors.New("vm: guest sent no record before the boot timeout")
	// ErrRunTimeout: no done record within Config.RunTimeout.
	ErrRunTimeout = errors.New("vm: guest did not finish before the run timeout")
	// ErrQEMU: qemu could not be started, or ended with an error of its own.
	ErrQEMU = errors.New("vm: qemu failed")
	// ErrConfig: the Config is incomplete or wrong.
	ErrConfig = errors.New("vm: bad config")
)

// FailureClass names a way the guest died.
type FailureClass string

// Failure classes Run detects.
const (
	// GuestPanic: the kernel panicked ("Kernel panic - not syncing"), which
	// with panic=-1 and -no-reboot ends qemu.
	GuestPanic FailureClass = "guest-panic"
	// GuestOOM: the guest ran out of memory ("Out of memory", "System is
	// deadlocked on memory", or an "oom" event record).
	GuestOOM FailureClass = "guest-oom"
	// GuestReset: qemu ended by itself before the done record and the
	// console names no panic.
	GuestReset FailureClass = "guest-reset"
)

// Failure is one way the guest went wrong, with the first line that said so.
type Failure struct {
	Class FailureClass
	Line  string        // the console line (or event text), escape codes removed
	Count int           // lines of this class seen
	At    time.Duration // since qemu started, of the first line
}

// ExitKind says how qemu ended.
type ExitKind string

// Exit kinds.
const (
	ExitGuest  ExitKind = "guest"  // qemu ended by itself with status 0: the guest powered off, reset or panicked
	ExitError  ExitKind = "error"  // qemu ended by itself with a non-zero status
	ExitKilled ExitKind = "killed" // Run stopped it (see Exit.Reason)
)

// Reasons Run stops qemu for.
const (
	ReasonBootTimeout = "boot-timeout"
	ReasonRunTimeout  = "run-timeout"
	ReasonCanceled    = "canceled"     // the context ended
	ReasonNoExit      = "no-exit"      // done came, the guest did not end within ExitTimeout
	ReasonStartFailed = "start-failed" // something after qemu's start failed
)

// Exit describes qemu's end.
type Exit struct {
	Kind   ExitKind
	Reason string // why Run stopped it (ExitKilled)
	Code   int    // exit status, -1 when killed by a signal
	Signal string // the signal that ended it, if any
	Forced bool   // SIGTERM was not enough: SIGKILL was sent
}

// Result is what one guest run gave.
type Result struct {
	Args    []string // qemu's command line
	Accel   string   // kvm or tcg
	PID     int      // qemu's process id; no such process is left when Run returns
	Console string   // path of the console log
	QEMULog string   // path of qemu's own output

	Facts    *Facts    // the facts record's payload, when it came
	Done     *Done     // the done record's payload, when it came
	Records  int       // records received (also given to OnRecord)
	Stream   ReadStats // gaps, corrupt lines and noise on the results channel
	Failures []Failure // what went wrong in the guest, in the order seen
	Exit     Exit

	BootTime     time.Duration // qemu start → first record
	RunTime      time.Duration // first record → done (or the end, whichever came first)
	TeardownTime time.Duration // done or the decision to stop → qemu gone
	Total        time.Duration // qemu start → qemu gone
}

// Failed tells whether the guest failed in the given way.
func (r Result) Failed(c FailureClass) bool {
	for _, f := range r.Failures {
		if f.Class == c {
			return true
		}
	}
	return false
}

// consolePatterns classify console lines.
var consolePatterns = []struct {
	text  []byte
	class FailureClass
}{
	{[]byte("Kernel panic - not syncing"), GuestPanic},
	{[]byte("Out of memory"), GuestOOM},
	{[]byte("System is deadlocked on memory"), GuestOOM},
}

// failures collects Failures from several goroutines.
type failures struct {
	mu    sync.Mutex
	start time.Time
	list  []Failure
}

func (f *failures) add(class FailureClass, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.list {
		if f.list[i].Class == class {
			f.list[i].Count++
			return
		}
	}
	f.list = append(f.list, Failure{Class: class, Line: line, Count: 1, At: time.Since(f.start)})
}

// console classifies one console line (escape codes already removed).
func (f *failures) console(line []byte) {
	seen := map[FailureClass]bool{}
	for _, p := range consolePatterns {
		if !seen[p.class] && bytes.Contains(line, p.text) {
			seen[p.class] = true
			f.add(p.class, string(line))
		}
	}
}

func (f *failures) snapshot() []Failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Failure(nil), f.list...)
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Kernel == "" {
		errs = append(errs, fmt.Errorf("%w: no kernel", ErrConfig))
	}
	if c.Initrd == "" {
		errs = append(errs, fmt.Errorf("%w: no initrd", ErrConfig))
	}
	if c.Dir == "" {
		errs = append(errs, fmt.Errorf("%w: no output directory", ErrConfig))
	}
	if c.MemoryMiB <= 0 {
		errs = append(errs, fmt.Errorf("%w: memory %d MiB", ErrConfig, c.MemoryMiB))
	}
	switch c.Accel {
	case "", "kvm", "tcg":
	default:
		errs = append(errs, fmt.Errorf("%w: accel %q: want kvm, tcg or empty", ErrConfig, c.Accel))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"boot timeout", c.BootTimeout}, {"run timeout", c.RunTimeout}, {"exit timeout", c.ExitTimeout}, {"grace", c.Grace}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s %v is negative", ErrConfig, d.name, d.v))
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	if c.Machine == "" {
		c.Machine = DefaultMachine
	}
	if c.QEMU == "" {
		c.QEMU = "qemu-system-x86_64"
	}
	if c.BootTimeout == 0 {
		c.BootTimeout = DefaultBootTimeout
	}
	if c.RunTimeout == 0 {
		c.RunTimeout = DefaultRunTimeout
	}
	if c.ExitTimeout == 0 {
		c.ExitTimeout = DefaultExitTimeout
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	return c, nil
}

// KernelCmdline is the kernel command line Run passes for c. The console
// runs at 115200 baud: qemu's UART sends at the rate the guest programs
// (9600 baud by default, under 1 KB/s), so a slow console delays the lines
// that say how a guest died.
func (c Config) KernelCmdline() string {
	words := []string{"console=ttyS0,115200", "panic=-1"}
	if !c.ACPI {
		words = append(words, "acpi=off")
	}
	if !c.Verbose {
		words = append(words, "quiet")
	}
	words = append(words, c.Append...)
	return joinWords(words)
}

func joinWords(w []string) string {
	var b bytes.Buffer
	for i, s := range w {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// qemuArgs is qemu's command line (without the binary): the console is the
// first serial port (ttyS0), the results channel the second (ttyS1), each a
// unix socket Run listens on.
func (c Config) qemuArgs(accel, consoleSock, resultsSock string) []string {
	args := []string{
		"-accel", accel,
		"-M", c.Machine,
		"-m", fmt.Sprintf("%dM", c.MemoryMiB),
		"-smp", "1",
	}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	}
	return append(args,
		"-nodefaults", "-no-user-config", "-nographic",
		"-kernel", c.Kernel,
		"-initrd", c.Initrd,
		"-append", c.KernelCmdline(),
		"-chardev", "socket,id=con,path="+qemuOptValue(consoleSock),
		"-serial", "chardev:con",
		"-chardev", "socket,id=res,path="+qemuOptValue(resultsSock),
		"-serial", "chardev:res",
		"-no-reboot",
	)
}

// qemuOptValue escapes a value inside a qemu option list (a comma is doubled).
func qemuOptValue(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(","), []byte(",,")))
}
