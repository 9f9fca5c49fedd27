package vmlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/lab/vm"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

// Placement runs scenarios that have a vm section, each in a fresh qemu
// guest with vm.memory of RAM. Client and target run in the guest, on its
// loopback; the guest's timeline is written into opts.Timeline as it
// comes out, and its files (console.log, qemu.log) go to opts.Dir. qemu
// is always gone when Run returns (lab/vm.Run ends it by its PID, and it
// dies with this process: PR_SET_PDEATHSIG).
type Placement struct {
	// Init is the static nobufs binary booted as /init; empty is
	// $NOBUFS_VM_INIT, else this program.
	Init string
	// CacheDir is the guest kernel cache; empty is lab/vm's default.
	CacheDir string
	// QEMU is the qemu binary; empty is qemu-system-x86_64 on $PATH.
	QEMU string
}

var _ workers.Placement = Placement{}

// Check says whether p can run sc here: a vm section, qemu, the guest
// kernel it asks for, and a static nobufs to boot. The error wraps
// ErrUnavailable.
func (p Placement) Check(sc *scenarios.Scenario) error {
	_, _, err := p.prepare(sc)
	return err
}

// prepare finds the kernel and the /init of a run.
func (p Placement) prepare(sc *scenarios.Scenario) (vm.Kernel, string, error) {
	if sc.VM == nil {
		return vm.Kernel{}, "", fmt.Errorf("%w: scenario %s has no vm section", ErrUnavailable, sc.Name)
	}
	qemu := p.QEMU
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	if _, err := exec.LookPath(qemu); err != nil {
		return vm.Kernel{}, "", fmt.Errorf("%w: %w (apt-get install qemu-system-x86)", ErrUnavailable, err)
	}
	k, err := vm.FindKernelPackage(p.CacheDir, sc.VM.Kernel)
	if err != nil {
		return vm.Kernel{}, "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	init, err := p.initPath()
	if err != nil {
		return vm.Kernel{}, "", err
	}
	return k, init, nil
}

// initPath is the binary to boot as /init, checked to be static.
func (p Placement) initPath() (string, error) {
	path, from := p.Init, "Placement.Init"
	if path == "" {
		path, from = os.Getenv(EnvInit), "$"+EnvInit
	}
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("%w: cannot find this program to boot it as /init: %w", ErrUnavailable, err)
		}
		path, from = exe, "this program"
	}
	if err := vm.CheckStatic(path); err != nil {
		return "", fmt.Errorf("%w: %s (%s) cannot be the guest's /init: %w; build a static nobufs with make build (CGO_ENABLED=0), or name one in $%s", ErrUnavailable, path, from, err, EnvInit)
	}
	return path, nil
}

// Run runs sc in a fresh guest. The summary is returned also when the
// guest died (then rebuilt from the timeline it sent, with the death as
// the time-to-failure) and when ctx ended (status interrupted); err is
// set when the guest could not be booted, failed before the load
// started, or overstayed its bounds.
func (p Placement) Run(ctx context.Context, sc *scenarios.Scenario, opts workers.Options) (*schema.Summary, error) {
	k, init, err := p.prepare(sc)
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "nbvm-run-")
		if err != nil {
			return nil, fmt.Errorf("vm: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	initrd, err := buildImage(sc, init)
	if err != nil {
		return nil, err
	}
	defer os.Remove(initrd)

	h := &host{sc: sc, opts: opts, anchor: -1}
	cfg := vm.Config{
		Kernel:      k.Path,
		Initrd:      initrd,
		MemoryMiB:   int(sc.VM.Memory),
		Dir:         dir,
		Append:      guestWords(opts),
		QEMU:        p.QEMU,
		BootTimeout: sc.VM.BootTimeout.D(),
		RunTimeout:  sc.Stop.Duration.D() + sc.VM.RunGrace.D(),
		OnRecord:    h.record,
		// ACPI on: the guest finds its HPET, so its clock (TSC calibrated
		// against the HPET, or the HPET itself) keeps real time. With
		// acpi=off a TSC calibration that fails under load leaves the
		// guest on refined-jiffies, whose clock falls behind when qemu is
		// starved: a "60 s" run took 80 s (docs/vm-notes.md).
		ACPI: true,
	}
	if a := sc.VM.Accel; a != scenarios.AccelAuto {
		cfg.Accel = a
	}
	res, runErr := vm.Run(ctx, cfg)
	return h.finish(ctx, k, cfg, res, runErr)
}

// guestWords are the kernel command-line words that reach /init as its
// environment.
func guestWords(opts workers.Options) []string {
	w := []string{EnvGuest + "=1"}
	if opts.SampleEvery > 0 {
		w = append(w, envSampleMS+"="+strconv.FormatInt(max(opts.SampleEvery.Milliseconds(), 1), 10))
	}
	if opts.HostState != nil {
		w = append(w, envHostState+"=1")
	}
	return w
}

// buildImage writes the guest's initramfs (init as /init, the resolved
// scenario) to a temporary file and returns its path.
func buildImage(sc *scenarios.Scenario, init string) (string, error) {
	src, err := yaml.Marshal(sc)
	if err != nil {
		return "", fmt.Errorf("vm: encode scenario: %w", err)
	}
	f, err := os.CreateTemp("", "nbvm-initrd-*.gz")
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	b, err := baseFor(init)
	if err == nil {
		err = b.WriteImage(f, []vm.File{{Path: ScenarioPath, Data: src}})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("vm: initramfs: %w", err)
	}
	return f.Name(), nil
}

// base is the last /init compressed as an image base (vm.Base), for the
// binary with that path, size and modification time: a sweep's runs, and
// a test binary's guests, compress it once.
var base struct {
	mu    sync.Mutex
	path  string
	size  int64
	mtime time.Time
	b     *vm.Base
}

func baseFor(init string) (*vm.Base, error) {
	st, err := os.Stat(init)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	base.mu.Lock()
	defer base.mu.Unlock()
	if base.b != nil && base.path == init && base.size == st.Size() && base.mtime.Equal(st.ModTime()) {
		return base.b, nil
	}
	b, err := vm.NewBase([]vm.File{{Path: "/init", HostPath: init}})
	if err != nil {
		return nil, err
	}
	base.path, base.size, base.mtime, base.b = init, st.Size(), st.ModTime(), b
	return b, nil
}

// host is the host side of one guest run: what its records said so far.
// Its methods run on vm.Run's goroutine (OnRecord), then in finish.
type host struct {
	sc   *scenarios.Scenario
	opts workers.Options

	tlErr error

	firstAt time.Time // the first record
	startAt time.Time // the timeline's start line
	anchor  int64     // the guest kernel clock at the load's start (µs), -1: unknown

	start   *schema.StartLine
	samples []schema.Sample
	end     *schema.EndLine
	summary *schema.Summary
	sysctls map[string]string
	done    *vm.Done
	notes   []string

	events   []schema.VMEventCount
	pending  []vm.Event // kernel lines before the start line
	counters map[string]uint64
	peakMem  int
	peakOrph int

	// progress
	cum workers.Progress
}

// write appends one line to the run's timeline (one Write call).
func (h *host) write(line []byte) {
	if h.opts.Timeline == nil || h.tlErr != nil {
		return
	}
	if _, err := h.opts.Timeline.Write(append(line, '\n')); err != nil {
		h.tlErr = err
	}
}

func (h *host) writeJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.tlErr = err
		return
	}
	h.write(b)
}

// record handles one record from the guest, as it arrives.
func (h *host) record(rec vm.Record) {
	now := time.Now()
	if h.firstAt.IsZero() {
		h.firstAt = now
	}
	switch rec.Type {
	case TypeTimeline:
		h.timeline(rec.Payload, now)
	case vm.TypeEvent:
		var ev vm.Event
		if rec.Decode(&ev) == nil {
			h.event(ev, now)
		}
	case TypeRunStart:
		var rs RunStart
		if rec.Decode(&rs) == nil {
			h.anchor = rs.KernelUS
		}
	case TypeSysctls:
		var m map[string]string
		if rec.Decode(&m) == nil {
			h.sysctls = m
		}
	case TypeSummary:
		if s, err := schema.DecodeSummary("the guest's summary", rec.Payload); err == nil {
			h.summary = s
		} else {
			h.notes = append(h.notes, err.Error())
		}
	case vm.TypeLine:
		var s string
		if rec.Decode(&s) == nil {
			h.notes = append(h.notes, "guest: "+s)
		}
	case vm.TypeDone:
		var d vm.Done
		if rec.Decode(&d) == nil {
			h.done = &d
		}
	}
}

// timeline writes a timeline line from the guest and keeps what a summary
// rebuilt from it needs.
func (h *host) timeline(line json.RawMessage, now time.Time) {
	h.write(line)
	var head struct {
		Type string           `json:"type"`
		Host *hoststate.State `json:"host"`
	}
	if json.Unmarshal(line, &head) != nil {
		return
	}
	switch head.Type {
	case "start":
		var s schema.StartLine
		if json.Unmarshal(line, &s) == nil && h.start == nil {
			h.start, h.startAt = &s, now
			for _, ev := range h.pending {
				h.event(ev, now)
			}
			h.pending = nil
		}
	case "sample":
		var s schema.Sample
		if json.Unmarshal(line, &s) != nil {
			return
		}
		h.samples = append(h.samples, s)
		if st := head.Host; st != nil {
			if st.Sockstat != nil {
				h.peakMem = max(h.peakMem, st.Sockstat.TCPMemPages)
				h.peakOrph = max(h.peakOrph, st.Sockstat.TCPOrphan)
			}
			for n, d := range st.Counters {
				if h.counters == nil {
					h.counters = map[string]uint64{}
				}
				h.counters[n] += d
			}
		}
		h.progress(s)
	case "end":
		var e schema.EndLine
		if json.Unmarshal(line, &e) == nil {
			h.end = &e
		}
	}
}

// progress hands the caller's Progress what the sample says.
func (h *host) progress(s schema.Sample) {
	if h.opts.Progress == nil {
		return
	}
	p := &h.cum
	dt := time.Duration(s.Elapsed*float64(time.Second)) - p.Elapsed
	p.Elapsed = time.Duration(s.Elapsed * float64(time.Second))
	p.OK += s.OK
	p.Failed += s.Failed
	p.Dropped += s.Dropped
	p.Open = s.Open
	p.OKPerSec = 0
	if dt > 0 {
		p.OKPerSec = float64(s.OK) / dt.Seconds()
	}
	if p.Classes == nil {
		p.Classes = map[errclass.Class]uint64{}
	}
	for _, e := range s.Errors {
		p.Classes[e.Class] += e.N
	}
	if s.TimeToFailure != nil && p.TimeToFailure == nil {
		f := *s.TimeToFailure
		p.TimeToFailure = &f
	}
	c := *p
	c.Classes = make(map[errclass.Class]uint64, len(p.Classes))
	for k, v := range p.Classes {
		c.Classes[k] = v
	}
	h.opts.Progress(c)
}

// maxPending bounds the kernel lines kept before the start line.
const maxPending = 1000

// event writes a guest kernel line as a timeline event and counts it.
// Lines before the start line wait for it (a timeline begins with its
// start line); they get a negative time.
func (h *host) event(ev vm.Event, now time.Time) {
	if h.start == nil {
		if len(h.pending) < maxPending {
			h.pending = append(h.pending, ev)
		}
		return
	}
	at := 0.0
	switch {
	case h.anchor >= 0 && ev.KernelUS > 0:
		at = float64(ev.KernelUS-h.anchor) / 1e6
	case !h.startAt.IsZero():
		at = now.Sub(h.startAt).Seconds()
	}
	h.writeJSON(schema.EventLine{Type: "event", Elapsed: at, Source: schema.EventSourceGuestKernel, Kind: ev.Kind, Text: ev.Text})
	for i := range h.events {
		if h.events[i].Kind == ev.Kind {
			h.events[i].Count++
			return
		}
	}
	h.events = append(h.events, schema.VMEventCount{Kind: ev.Kind, Count: 1, FirstAtSec: at, First: ev.Text})
}

// finish makes the run's summary once qemu is gone.
func (h *host) finish(ctx context.Context, k vm.Kernel, cfg vm.Config, res vm.Result, runErr error) (*schema.Summary, error) {
	rep := h.report(k, cfg, res)
	var sum *schema.Summary
	switch {
	case h.summary != nil:
		sum = h.summary
		rep.SummaryFrom = "guest"
		if runErr != nil {
			sum.Notes = append(sum.Notes, "vm: after the guest's summary: "+runErr.Error())
		}
		runErr = nil
	case h.start != nil:
		sum = schema.Rebuild(&schema.Timeline{Start: h.start, Samples: h.samples, End: h.end})
		rep.SummaryFrom = "timeline"
		sum.Notes = []string{fmt.Sprintf("vm: the guest sent no summary; rebuilt from the %d timeline samples it sent", len(h.samples))}
	case ctx.Err() != nil:
		// Interrupted while the guest booted: nothing ran.
		now := time.Now().UTC()
		sum = &schema.Summary{Schema: schema.SchemaVersion, Tool: schema.Tool{Name: "nobufs", Version: h.opts.ToolVersion},
			Scenario: h.sc, Status: schema.StatusInterrupted, StopReason: schema.StopInterrupted, Started: now, Ended: now,
			Latency: map[string]schema.Latency{}, Notes: []string{"vm: interrupted before the load started in the guest"}}
		sum.VM = rep
		return sum, nil
	default:
		return nil, h.noRun(ctx, res, runErr)
	}
	sum.Notes = append(sum.Notes, h.notes...)
	if h.tlErr != nil {
		sum.Notes = append(sum.Notes, "timeline: "+h.tlErr.Error())
	}
	sum.VM = rep
	if h.summary != nil {
		return sum, nil
	}
	if d := h.death(res); d != nil {
		rep.Died = d
		h.writeJSON(schema.EventLine{Type: "event", Elapsed: d.AtSec, Source: schema.EventSourceVM, Kind: d.Class, Text: d.Line})
		if h.end != nil {
			// The load had ended (its end line came): the death took only
			// the summary with it, not the run.
			sum.Notes = append(sum.Notes, fmt.Sprintf("vm: the guest died (%s) after the load ended, before its summary came out: %s", d.Class, d.Line))
			return sum, nil
		}
		died(sum, d)
		return sum, nil
	}
	if ctx.Err() != nil {
		sum.Status, sum.StopReason = schema.StatusInterrupted, schema.StopInterrupted
		return sum, nil
	}
	if h.done != nil && !h.done.OK {
		return nil, fmt.Errorf("%w: %s", ErrGuest, h.done.Error)
	}
	if runErr == nil {
		runErr = fmt.Errorf("%w: the guest ended without its summary", ErrGuest)
	}
	return nil, runErr
}

// noRun is the error of a guest that never started the load.
func (h *host) noRun(ctx context.Context, res vm.Result, runErr error) error {
	var why []string
	if h.done != nil && !h.done.OK {
		why = append(why, h.done.Error)
	}
	for _, f := range res.Failures {
		why = append(why, fmt.Sprintf("%s: %s", f.Class, f.Line))
	}
	if runErr != nil {
		if ctx.Err() != nil && errors.Is(runErr, ctx.Err()) {
			return runErr
		}
		why = append(why, runErr.Error())
	}
	if len(why) == 0 {
		why = append(why, "it sent no timeline")
	}
	err := fmt.Errorf("%w before the load started (%s): %s; its console is %s", ErrGuest, h.sc.VM.Memory, strings.Join(why, "; "), res.Console)
	if t := consoleTail(res.Console, 5); t != "" {
		err = fmt.Errorf("%w; it ends:\n%s", err, t)
	}
	return err
}

// death says how and when the guest died, when it died before its summary.
func (h *host) death(res vm.Result) *schema.VMDeath {
	var f *vm.Failure
	class := errclass.ClassGuestPanic
	for _, c := range []vm.FailureClass{vm.GuestOOM, vm.GuestPanic, vm.GuestReset} {
		for i := range res.Failures {
			if res.Failures[i].Class == c && f == nil {
				f = &res.Failures[i]
				if c == vm.GuestOOM {
					class = errclass.ClassGuestOOM
				}
			}
		}
	}
	if f == nil {
		return nil
	}
	// On the host's clock: qemu started BootTime before the first record.
	at := f.At
	if f.Class == vm.GuestOOM || f.Class == vm.GuestPanic {
		// The first such line; a panic follows an OOM, keep the earliest.
		for _, o := range res.Failures {
			if o.Class != vm.GuestReset && o.At < at {
				at = o.At
			}
		}
	}
	qemuStart := h.firstAt.Add(-res.BootTime)
	sec := qemuStart.Add(at).Sub(h.startAt).Seconds()
	if last := lastElapsed(h.samples); sec < last {
		sec = last // never before what the timeline shows it lived through
	}
	return &schema.VMDeath{Class: string(class), AtSec: sec, Line: f.Line}
}

func lastElapsed(s []schema.Sample) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].Elapsed
}

// died makes the guest's death the run's end and, unless a failure came
// first, its time-to-failure: a guest that died cannot go on, so the death
// counts whatever failure.classes lists.
func died(sum *schema.Summary, d *schema.VMDeath) {
	class := errclass.Class(d.Class)
	okBefore := sum.Ops.OK
	sum.Errors = append(sum.Errors, schema.ErrorCount{Phase: errclass.PhaseOther, Class: class, Count: 1, FirstAt: d.AtSec, FirstOp: sum.Ops.Issued})
	sum.Classes = append(sum.Classes, schema.ClassFirst{Class: class, Count: 1, FirstAt: d.AtSec, FirstOp: sum.Ops.Issued, Phase: errclass.PhaseOther})
	if sum.TimeToFailure == nil {
		sum.TimeToFailure = &schema.Failure{Class: class, Phase: errclass.PhaseOther, AtSec: d.AtSec, Op: sum.Ops.Issued, OKBefore: okBefore}
	}
	sum.StopReason = schema.StopGuestDied
	sum.ElapsedSec = max(sum.ElapsedSec, d.AtSec)
	sum.Ended = sum.Started.Add(time.Duration(sum.ElapsedSec * float64(time.Second)))
	sum.Status = schema.StatusPassed
	if sum.Scenario != nil {
		sum.Unmet = schema.CheckExpectations(sum.Scenario.Expect, sum.TimeToFailure)
	}
	if len(sum.Unmet) > 0 {
		sum.Status = schema.StatusFailed
	}
	sum.Notes = append(sum.Notes, fmt.Sprintf("vm: the guest died (%s) %.3fs after the load started: %s", d.Class, d.AtSec, d.Line))
}

// report is the summary's vm section.
func (h *host) report(k vm.Kernel, cfg vm.Config, res vm.Result) *schema.VMReport {
	r := &schema.VMReport{
		MemoryMiB:       cfg.MemoryMiB,
		Accel:           res.Accel,
		Machine:         vm.DefaultMachine,
		Kernel:          schema.VMKernel{Package: k.Package, Version: k.Version, Release: k.Release},
		Sysctls:         h.sysctls,
		BootSec:         res.BootTime.Seconds(),
		RunSec:          res.RunTime.Seconds(),
		TeardownSec:     res.TeardownTime.Seconds(),
		TotalSec:        res.Total.Seconds(),
		Exit:            string(res.Exit.Kind),
		ExitReason:      res.Exit.Reason,
		ExitCode:        res.Exit.Code,
		Events:          h.events,
		Counters:        h.counters,
		PeakTCPMemPages: h.peakMem,
		PeakOrphans:     h.peakOrph,
		Records:         res.Records,
		Missing:         res.Stream.Missing(),
		Corrupt:         res.Stream.Corrupt,
		Console:         filepath.Base(res.Console),
		QEMULog:         filepath.Base(res.QEMULog),
	}
	if cfg.Machine != "" {
		r.Machine = cfg.Machine
	}
	if f := res.Facts; f != nil {
		r.Guest = schema.VMGuest{Release: f.Release, MemTotalKB: f.MemTotalKB, MemAvailableKB: f.MemAvailableKB,
			TCPMem: f.TCPMem, TCPMemMaxBytes: f.TCPMemMaxBytes(), TCPRmem: f.TCPRmem, TCPWmem: f.TCPWmem, UDPMem: f.UDPMem,
			TCPMaxOrphans: f.TCPMaxOrphans, Somaxconn: f.Somaxconn, NetdevMaxBacklog: f.NetdevMaxBacklog,
			PageSize: f.PageSize, CPUs: f.CPUs, UptimeSec: f.UptimeSeconds, Clocksource: f.Clocksource, Cmdline: f.Cmdline}
	}
	r.TCPAbortOnMemory = h.counters["TcpExt.TCPAbortOnMemory"]
	r.TCPMemoryPressures = h.counters["TcpExt.TCPMemoryPressures"]
	for _, e := range h.events {
		if e.Kind == vm.EventTCPOOM {
			r.TCPOOMLines = e.Count
		}
	}
	for _, f := range res.Failures {
		r.Failures = append(r.Failures, schema.VMFailure{Class: string(f.Class), Line: f.Line, Count: f.Count, AtSec: f.At.Seconds()})
	}
	return r
}

// consoleTail returns the last lines of the console log, for messages.
func consoleTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out []string
	for _, l := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		if c := strings.TrimSpace(string(vm.Clean(nil, l))); c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out[max(len(out)-n, 0):], "\n")
}
