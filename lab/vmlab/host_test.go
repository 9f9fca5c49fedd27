package vmlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/lab/vm"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

const testVMScenario = `
name: vm-unit
kind: orphan-churn
vm: {memory: 128M}
stop: {duration: 10s}
`

// feed is a fake guest: it hands records to a host as lab/vm.Run would.
type feed struct {
	t   *testing.T
	h   *host
	seq uint64
}

func (f *feed) send(typ string, v any) {
	f.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	f.seq++
	f.h.record(vm.Record{Seq: f.seq, Type: typ, Payload: b})
}

func (f *feed) line(v any) { f.send(TypeTimeline, v) }

func newFeed(t *testing.T, sc *scenarios.Scenario, tl *bytes.Buffer) *feed {
	return &feed{t: t, h: &host{sc: sc, opts: workers.Options{Timeline: tl}, anchor: -1}}
}

func sample(seq int, at float64, ok uint64, mem, orphans int, counters map[string]uint64) map[string]any {
	return map[string]any{"type": "sample", "seq": seq, "elapsed_sec": at, "issued": ok + 1, "ok": ok, "open": 3,
		"host": map[string]any{"tcp": map[string]any{}, "fds": 9, "counters": counters,
			"sockstat": map[string]any{"tcp_mem_pages": mem, "tcp_orphan": orphans}}}
}

func startLine(sc *scenarios.Scenario) schema.StartLine {
	return schema.StartLine{Type: "start", Schema: schema.SchemaVersion, Scenario: sc, Started: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

func readTL(t *testing.T, b []byte) *schema.Timeline {
	t.Helper()
	tl, err := schema.ReadTimeline("timeline.ndjson", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the timeline written is not valid: %v\n%s", err, b)
	}
	return tl
}

// TestHostGuestSummary: a guest that sends its summary: the timeline gets
// every line as it came and the kernel's lines as events on the run's
// clock; the summary is the guest's, with the vm section from the records.
func TestHostGuestSummary(t *testing.T) {
	sc := testkit.Parse(t, testVMScenario)
	var tl bytes.Buffer
	f := newFeed(t, sc, &tl)
	f.send(vm.TypeFacts, vm.Facts{Release: "6.1.0-48-cloud-amd64", MemTotalKB: 94804, TCPMem: [3]int64{975, 1301, 1950}, TCPMaxOrphans: 512, PageSize: 4096})
	f.send(TypeSysctls, map[string]string{"net.ipv4.tcp_mem": "100 200 300"})
	f.send(vm.TypeEvent, vm.Event{Kind: vm.EventTCPOOM, Text: "before the start", KernelUS: 1_000_000})
	f.send(TypeRunStart, RunStart{KernelUS: 5_000_000, Source: "kmsg"})
	f.line(startLine(sc))
	f.line(sample(1, 1, 10, 500, 2, map[string]uint64{"TcpExt.TCPMemoryPressures": 1}))
	f.send(vm.TypeEvent, vm.Event{Kind: vm.EventTCPOOM, Text: "TCP: out of memory -- consider tuning tcp_mem", KernelUS: 6_500_000})
	f.send(vm.TypeEvent, vm.Event{Kind: vm.EventTCPOOM, Text: "TCP: out of memory -- consider tuning tcp_mem", KernelUS: 6_600_000})
	f.line(sample(2, 2, 5, 1990, 7, map[string]uint64{"TcpExt.TCPAbortOnMemory": 3, "TcpExt.TCPMemoryPressures": 1}))
	ttf := &schema.Failure{Class: errclass.ClassOrphanReset, Phase: errclass.PhaseRecv, Code: 104, AtSec: 1.7}
	f.line(schema.EndLine{Type: "end", Status: schema.StatusPassed, StopReason: schema.StopFailure, Elapsed: 2, TimeToFailure: ttf})
	f.send(TypeSummary, schema.Summary{Schema: schema.SchemaVersion, Scenario: sc, Status: schema.StatusPassed, StopReason: schema.StopFailure, TimeToFailure: ttf})
	f.send(vm.TypeDone, vm.Done{OK: true})

	res := vm.Result{Accel: "tcg", Records: int(f.seq), BootTime: 4 * time.Second, RunTime: 3 * time.Second, TeardownTime: 10 * time.Millisecond,
		Total: 7 * time.Second, Exit: vm.Exit{Kind: vm.ExitGuest}, Console: "/x/console.log", QEMULog: "/x/qemu.log",
		Facts: &vm.Facts{Release: "6.1.0-48-cloud-amd64", MemTotalKB: 94804, TCPMem: [3]int64{975, 1301, 1950}, TCPMaxOrphans: 512, PageSize: 4096}}
	sum, err := f.h.finish(context.Background(), vm.Kernel{Package: "linux-image-6.1.0-48-cloud-amd64", Version: "6.1.172-1", Release: "6.1.0-48-cloud-amd64"}, vm.Config{MemoryMiB: 128}, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.TimeToFailure == nil || sum.TimeToFailure.Class != errclass.ClassOrphanReset || sum.StopReason != schema.StopFailure {
		t.Errorf("summary: ttf %+v, stop %s; want the guest's orphan-reset", sum.TimeToFailure, sum.StopReason)
	}
	v := sum.VM
	if v == nil {
		t.Fatal("no vm section")
	}
	if v.SummaryFrom != "guest" || v.MemoryMiB != 128 || v.Kernel.Version != "6.1.172-1" || v.Guest.TCPMem[2] != 1950 || v.Guest.TCPMemMaxBytes != 1950*4096 {
		t.Errorf("vm section: %+v", v)
	}
	if v.BootSec != 4 || v.RunSec != 3 || v.TeardownSec != 0.01 || v.Console != "console.log" {
		t.Errorf("vm times: boot %v run %v teardown %v console %q", v.BootSec, v.RunSec, v.TeardownSec, v.Console)
	}
	if got := v.Counters["TcpExt.TCPMemoryPressures"]; got != 2 {
		t.Errorf("TCPMemoryPressures: got %d, want 2 (summed over the samples)", got)
	}
	if got := v.Counters["TcpExt.TCPAbortOnMemory"]; got != 3 {
		t.Errorf("TCPAbortOnMemory: got %d, want 3", got)
	}
	if v.TCPAbortOnMemory != 3 || v.TCPMemoryPressures != 2 || v.TCPOOMLines != 3 {
		t.Errorf("summary counters: abort on memory %d, pressures %d, oom lines %d; want 3, 2, 3", v.TCPAbortOnMemory, v.TCPMemoryPressures, v.TCPOOMLines)
	}
	if v.PeakTCPMemPages != 1990 || v.PeakOrphans != 7 {
		t.Errorf("peaks: %d pages, %d orphans; want 1990, 7", v.PeakTCPMemPages, v.PeakOrphans)
	}
	if v.Sysctls["net.ipv4.tcp_mem"] != "100 200 300" {
		t.Errorf("sysctls: %v", v.Sysctls)
	}
	if len(v.Events) != 1 || v.Events[0].Count != 3 || v.Events[0].FirstAtSec != -4 {
		t.Errorf("events: %+v, want tcp-oom ×3, first at -4s", v.Events)
	}
	out := readTL(t, tl.Bytes())
	if out.Start == nil || len(out.Samples) != 2 || out.End == nil {
		t.Fatalf("timeline: start %v, %d samples, end %v", out.Start != nil, len(out.Samples), out.End != nil)
	}
	// The event before the start line follows it, at a negative time: a
	// timeline starts with its start line.
	if len(out.Events) != 3 {
		t.Fatalf("timeline events: got %d, want 3", len(out.Events))
	}
	for i, want := range []float64{-4, 1.5, 1.6} {
		e := out.Events[i]
		if e.Source != schema.EventSourceGuestKernel || e.Kind != vm.EventTCPOOM || diff(e.Elapsed, want) > 1e-9 {
			t.Errorf("event %d: %+v, want tcp-oom at %.1fs", i, e, want)
		}
	}
}

func diff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestHostGuestDied: a guest that dies mid-run leaves a valid timeline up
// to its last sample; the summary is rebuilt from it with the death as the
// time-to-failure and the end.
func TestHostGuestDied(t *testing.T) {
	tests := []struct {
		name     string
		failures []vm.Failure
		want     errclass.Class
	}{
		{"oom then panic", []vm.Failure{
			{Class: vm.GuestOOM, Line: "Out of memory and no killable processes...", At: 9 * time.Second},
			{Class: vm.GuestPanic, Line: "Kernel panic - not syncing: System is deadlocked on memory", At: 9100 * time.Millisecond}}, errclass.ClassGuestOOM},
		{"panic", []vm.Failure{{Class: vm.GuestPanic, Line: "Kernel panic - not syncing: sysrq triggered crash", At: 9 * time.Second}}, errclass.ClassGuestPanic},
		{"reset", []vm.Failure{{Class: vm.GuestReset, Line: "qemu ended before the done record", At: 9 * time.Second}}, errclass.ClassGuestPanic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := testkit.Parse(t, testVMScenario)
			var tl bytes.Buffer
			f := newFeed(t, sc, &tl)
			f.send(vm.TypeFacts, vm.Facts{})
			f.line(startLine(sc))
			for i := 1; i <= 3; i++ {
				f.line(sample(i, float64(i), 4, 100*i, 1, nil))
			}
			// The first record came at the host's firstAt; qemu started
			// BootTime before it; the death is At after qemu's start.
			f.h.firstAt = time.Now().Add(-10 * time.Second)
			f.h.startAt = f.h.firstAt.Add(2 * time.Second)
			res := vm.Result{BootTime: 3 * time.Second, Failures: tt.failures, Exit: vm.Exit{Kind: vm.ExitGuest}}
			sum, err := f.h.finish(context.Background(), vm.Kernel{}, vm.Config{MemoryMiB: 128}, res, nil)
			if err != nil {
				t.Fatal(err)
			}
			ttf := sum.TimeToFailure
			// 9 s after qemu's start = 6 s after the first record = 4 s
			// after the start line.
			if ttf == nil || ttf.Class != tt.want || diff(ttf.AtSec, 4) > 1e-6 {
				t.Fatalf("time to failure %+v, want %s at 4s", ttf, tt.want)
			}
			if sum.StopReason != schema.StopGuestDied || sum.Status != schema.StatusPassed || sum.ElapsedSec != 4 {
				t.Errorf("stop %s, status %s, elapsed %v; want guest_died, passed, 4", sum.StopReason, sum.Status, sum.ElapsedSec)
			}
			if sum.Ops.OK != 12 || sum.VM.SummaryFrom != "timeline" || sum.VM.Died == nil || sum.VM.Died.Class != string(tt.want) {
				t.Errorf("ok %d, summary from %q, died %+v", sum.Ops.OK, sum.VM.SummaryFrom, sum.VM.Died)
			}
			var counted bool
			for _, c := range sum.Classes {
				counted = counted || c.Class == tt.want
			}
			if !counted {
				t.Errorf("classes %+v lack %s", sum.Classes, tt.want)
			}
			out := readTL(t, tl.Bytes())
			if len(out.Samples) != 3 || out.End != nil || len(out.Events) != 1 || out.Events[0].Kind != string(tt.want) || out.Events[0].Source != schema.EventSourceVM {
				t.Errorf("timeline: %d samples, end %v, events %+v", len(out.Samples), out.End, out.Events)
			}
		})
	}
}

// TestHostDeathNotBeforeLastSample: a death line seen (on the host's
// clock) before the last sample arrived is placed at that sample: the
// guest lived through what its timeline shows.
func TestHostDeathNotBeforeLastSample(t *testing.T) {
	sc := testkit.Parse(t, testVMScenario)
	f := newFeed(t, sc, &bytes.Buffer{})
	f.line(startLine(sc))
	f.line(sample(1, 7.5, 1, 1, 0, nil))
	f.h.firstAt = time.Now()
	f.h.startAt = f.h.firstAt
	res := vm.Result{BootTime: time.Second, Failures: []vm.Failure{{Class: vm.GuestPanic, Line: "Kernel panic", At: 2 * time.Second}}}
	sum, err := f.h.finish(context.Background(), vm.Kernel{}, vm.Config{}, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.TimeToFailure.AtSec; got != 7.5 {
		t.Errorf("death at %v, want 7.5 (the last sample)", got)
	}
}

// TestHostDiedAfterTheEnd: a guest that dies after the load's end line but
// before its summary: the run ended by its own bound, the death is noted.
func TestHostDiedAfterTheEnd(t *testing.T) {
	sc := testkit.Parse(t, testVMScenario)
	f := newFeed(t, sc, &bytes.Buffer{})
	f.line(startLine(sc))
	f.line(sample(1, 1, 5, 1, 0, nil))
	f.line(schema.EndLine{Type: "end", Status: schema.StatusPassed, StopReason: schema.StopDuration, Elapsed: 1})
	f.h.firstAt, f.h.startAt = time.Now(), time.Now()
	res := vm.Result{Failures: []vm.Failure{{Class: vm.GuestPanic, Line: "Kernel panic", At: 5 * time.Second}}}
	sum, err := f.h.finish(context.Background(), vm.Kernel{}, vm.Config{}, res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.StopReason != schema.StopDuration || sum.TimeToFailure != nil || sum.VM.Died == nil || sum.Status != schema.StatusPassed {
		t.Errorf("stop %q, ttf %+v, died %+v, status %q; want the run's own end, the death noted", sum.StopReason, sum.TimeToFailure, sum.VM.Died, sum.Status)
	}
}

// TestHostNoSummary: what finish says when the guest sent no summary and
// did not die.
func TestHostNoSummary(t *testing.T) {
	sc := testkit.Parse(t, testVMScenario)
	t.Run("interrupted", func(t *testing.T) {
		f := newFeed(t, sc, &bytes.Buffer{})
		f.line(startLine(sc))
		f.line(sample(1, 1, 3, 1, 0, nil))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		sum, err := f.h.finish(ctx, vm.Kernel{}, vm.Config{}, vm.Result{Exit: vm.Exit{Kind: vm.ExitKilled, Reason: vm.ReasonCanceled}}, context.Canceled)
		if err != nil || sum.Status != schema.StatusInterrupted || sum.StopReason != schema.StopInterrupted || sum.Ops.OK != 3 {
			t.Errorf("got %+v, %v; want an interrupted summary with 3 ok", sum, err)
		}
	})
	t.Run("interrupted at boot", func(t *testing.T) {
		f := newFeed(t, sc, &bytes.Buffer{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		sum, err := f.h.finish(ctx, vm.Kernel{}, vm.Config{}, vm.Result{Exit: vm.Exit{Kind: vm.ExitKilled, Reason: vm.ReasonCanceled}}, context.Canceled)
		if err != nil || sum.Status != schema.StatusInterrupted || sum.VM == nil || sum.Scenario != sc {
			t.Errorf("got %+v, %v; want an interrupted summary of the scenario", sum, err)
		}
	})
	t.Run("run failed in the guest", func(t *testing.T) {
		f := newFeed(t, sc, &bytes.Buffer{})
		f.send(vm.TypeDone, vm.Done{OK: false, Error: "guest: sysctl net.ipv4.nope = 1: no such file"})
		_, err := f.h.finish(context.Background(), vm.Kernel{}, vm.Config{}, vm.Result{Exit: vm.Exit{Kind: vm.ExitGuest}}, nil)
		if !errors.Is(err, ErrGuest) || !strings.Contains(err.Error(), "net.ipv4.nope") {
			t.Errorf("got %v, want ErrGuest with the guest's reason", err)
		}
	})
	t.Run("died at boot", func(t *testing.T) {
		f := newFeed(t, sc, &bytes.Buffer{})
		res := vm.Result{Failures: []vm.Failure{{Class: vm.GuestPanic, Line: "VFS: Unable to mount root fs"}}, Exit: vm.Exit{Kind: vm.ExitGuest}}
		_, err := f.h.finish(context.Background(), vm.Kernel{}, vm.Config{}, res, nil)
		if !errors.Is(err, ErrGuest) || !strings.Contains(err.Error(), "Unable to mount root fs") {
			t.Errorf("got %v, want ErrGuest naming the panic", err)
		}
	})
	t.Run("run timeout", func(t *testing.T) {
		f := newFeed(t, sc, &bytes.Buffer{})
		f.line(startLine(sc))
		_, err := f.h.finish(context.Background(), vm.Kernel{}, vm.Config{}, vm.Result{Exit: vm.Exit{Kind: vm.ExitKilled, Reason: vm.ReasonRunTimeout}}, vm.ErrRunTimeout)
		if !errors.Is(err, vm.ErrRunTimeout) {
			t.Errorf("got %v, want ErrRunTimeout", err)
		}
	})
}

// TestCheck: what the placement needs before it boots anything.
func TestCheck(t *testing.T) {
	notStatic := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(notStatic, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	host := testkit.Parse(t, "name: host\nkind: churn\n")
	vmsc := testkit.Parse(t, testVMScenario)
	tests := []struct {
		name string
		p    Placement
		sc   *scenarios.Scenario
	}{
		{"no vm section", Placement{}, host},
		{"no qemu", Placement{QEMU: "/nonexistent/qemu"}, vmsc},
		{"no kernel", Placement{CacheDir: t.TempDir()}, vmsc},
		{"init not static", Placement{Init: notStatic}, vmsc},
	}
	for _, tt := range tests {
		if err := tt.p.Check(tt.sc); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Check: got %v, want ErrUnavailable", tt.name, err)
		}
	}
}

// TestGuestWords: what reaches the guest's /init from the host's options.
func TestGuestWords(t *testing.T) {
	got := strings.Join(guestWords(workers.Options{SampleEvery: 250 * time.Millisecond, HostState: func(string) (func() any, func(), error) { return nil, nil, nil }}), " ")
	if want := "NOBUFS_GUEST=1 NOBUFS_GUEST_SAMPLE_MS=250 NOBUFS_GUEST_HOSTSTATE=1"; got != want {
		t.Errorf("guestWords: got %q, want %q", got, want)
	}
	if got := strings.Join(guestWords(workers.Options{}), " "); got != "NOBUFS_GUEST=1" {
		t.Errorf("guestWords of no options: got %q", got)
	}
}
