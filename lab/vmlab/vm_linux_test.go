package vmlab_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/lab/vm"
	"github.com/nobufs/nobufs/lab/vmlab"
	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/runner"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/sweep"
	"github.com/nobufs/nobufs/workers/errclass"
)

// These tests boot qemu guests (TCG here: 5–15 s a boot on this machine)
// with the cached guest kernel and a static nobufs built once per test
// binary. They skip only when qemu or the kernel cache is missing (.ci/run
// installs qemu-system-x86 and fills the cache).

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// needVM skips without qemu or a guest kernel, and returns a static nobufs
// to boot as /init (also set as $NOBUFS_VM_INIT for the test).
func needVM(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	if _, err := vm.FindKernel(""); errors.Is(err, vm.ErrNoKernel) {
		t.Skipf("no guest kernel in the cache (nobufs lab vm prepare): %v", err)
	}
	binOnce.Do(func() {
		binPath = filepath.Join(vmlab.TestDir, "nobufs")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binPath, "./cmd/nobufs")
		cmd.Dir = testkit.Root(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build a static nobufs: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	t.Setenv(vmlab.EnvInit, binPath)
	return binPath
}

// alive reports whether pid is a process that has not ended (a zombie
// has ended).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readTimeline(t *testing.T, dir string) *schema.Timeline {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, record.TimelineFile))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := schema.ReadTimeline(record.TimelineFile, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("timeline: %v", err)
	}
	if tl.Start == nil || len(tl.Samples) == 0 {
		t.Fatalf("timeline: start %v, %d samples", tl.Start != nil, len(tl.Samples))
	}
	return tl
}

func logConsole(t *testing.T, dir string) {
	if !t.Failed() {
		return
	}
	if b, err := os.ReadFile(filepath.Join(dir, "console.log")); err == nil {
		t.Logf("console.log:\n%s", vm.Clean(nil, b))
	}
}

// TestVMOrphanChurnCell boots one small VM cell through the one run path:
// the shipped vm-orphan-churn.yaml in a 128M guest whose tcp_mem is set
// lower still (vm.sysctls), so the kernel runs out of TCP memory within
// seconds. It checks the timeline (the guest's lines, its settings, the
// kernel's "TCP: out of memory" lines as events) and the summary (the
// orphan reset as the failure, the vm section).
func TestVMOrphanChurnCell(t *testing.T) {
	needVM(t)
	sc := testkit.Shipped(t, "vm-orphan-churn.yaml")
	sc.VM.Memory = 128
	sc.VM.Sysctls = map[string]scenarios.SysctlValue{"net.ipv4.tcp_mem": "300 400 500"}
	sc.Stop.Duration = scenarios.Duration(30 * time.Second)
	sc.Load.Stages = nil
	sc.Load.Rate = 20
	dir := filepath.Join(t.TempDir(), "run")
	defer logConsole(t, dir)
	sum, _, err := runner.Run(context.Background(), sc, runner.Options{Dir: dir, HostState: true})
	if err != nil {
		t.Fatal(err)
	}
	f := sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassOrphanReset || f.Phase != errclass.PhaseRecv || f.Code != 104 {
		t.Fatalf("time to failure %+v, want recv/orphan-reset(104) (errors %+v)", f, sum.Errors)
	}
	v := sum.VM
	if v == nil {
		t.Fatal("no vm section")
	}
	if v.SummaryFrom != "guest" || v.MemoryMiB != 128 || v.Exit != string(vm.ExitGuest) {
		t.Errorf("vm: summary from %q, memory %d, exit %q; want guest, 128, guest", v.SummaryFrom, v.MemoryMiB, v.Exit)
	}
	if v.BootSec <= 0 || v.RunSec <= 0 || v.TeardownSec <= 0 || v.TotalSec < v.BootSec+v.RunSec {
		t.Errorf("vm times: boot %v, run %v, teardown %v, total %v", v.BootSec, v.RunSec, v.TeardownSec, v.TotalSec)
	}
	if v.Kernel.Release == "" || v.Guest.Release != v.Kernel.Release {
		t.Errorf("kernel %+v, guest release %q: want the cached kernel, booted", v.Kernel, v.Guest.Release)
	}
	// What the kernel sized from 128M, read in the guest at boot (LAB.md §6:
	// MemTotal ~90 MB, tcp_mem max ~1850 pages, 512 orphans).
	if g := v.Guest; g.MemTotalKB < 60_000 || g.MemTotalKB > 131_072 || g.TCPMem[2] < 1000 || g.TCPMem[2] > 3000 || g.TCPMaxOrphans != 512 {
		t.Errorf("guest facts %+v, want those of a 128M machine", g)
	}
	if got := v.Sysctls["net.ipv4.tcp_mem"]; got != "300 400 500" {
		t.Errorf("vm.sysctls read back: tcp_mem %q, want \"300 400 500\"", got)
	}
	if v.TCPAbortOnMemory == 0 || v.TCPOOMLines == 0 {
		t.Errorf("tcp_abort_on_memory %d, tcp_oom_lines %d: want the kernel's resets and lines", v.TCPAbortOnMemory, v.TCPOOMLines)
	}
	if v.Missing != 0 || v.Corrupt != 0 {
		t.Errorf("records: %d missing, %d corrupt", v.Missing, v.Corrupt)
	}
	if sum.OrphanChurn == nil || sum.OrphanChurn.OrphanResets == 0 {
		t.Errorf("orphan_churn %+v, want resets", sum.OrphanChurn)
	}
	tl := readTimeline(t, dir)
	if tl.End == nil || tl.End.TimeToFailure == nil || tl.End.TimeToFailure.Class != errclass.ClassOrphanReset {
		t.Errorf("end line %+v, want the orphan reset", tl.End)
	}
	// The start line's settings are the guest's: the sysctl it set.
	if got := tl.Start.Settings.Sysctls["net.ipv4.tcp_mem"]; got != "300 400 500" {
		t.Errorf("start line settings: tcp_mem %q, want the guest's \"300 400 500\"", got)
	}
	if !strings.HasPrefix(tl.Start.Settings.Kernel, v.Kernel.Release) {
		t.Errorf("start line kernel %q, want the guest's %s", tl.Start.Settings.Kernel, v.Kernel.Release)
	}
	var oom bool
	for _, e := range tl.Events {
		if e.Source == schema.EventSourceGuestKernel && e.Kind == vm.EventTCPOOM && strings.Contains(e.Text, "tcp_mem") {
			oom = true
			if e.Elapsed < 0 || e.Elapsed > sum.ElapsedSec+5 {
				t.Errorf("event at %.3fs, the run lasted %.3fs", e.Elapsed, sum.ElapsedSec)
			}
		}
	}
	if !oom {
		t.Errorf("no \"TCP: out of memory\" event among %+v", tl.Events)
	}
	if _, err := os.Stat(filepath.Join(dir, "console.log")); err != nil {
		t.Error(err)
	}
}

// TestVMGuestDies pushes to non-readers (the shipped vm-push.yaml) in a
// 128M guest until it runs out of memory and panics: the timeline is valid
// up to the guest's last second, and the run's failure is the death.
func TestVMGuestDies(t *testing.T) {
	needVM(t)
	sc := testkit.Shipped(t, "vm-push.yaml")
	sc.VM.Memory = 128
	dir := filepath.Join(t.TempDir(), "run")
	defer logConsole(t, dir)
	sum, _, err := runner.Run(context.Background(), sc, runner.Options{Dir: dir, HostState: true})
	if err != nil {
		t.Fatal(err)
	}
	f := sum.TimeToFailure
	if f == nil || (f.Class != errclass.ClassGuestOOM && f.Class != errclass.ClassGuestPanic) {
		t.Fatalf("time to failure %+v, want guest-oom or guest-panic", f)
	}
	if sum.StopReason != schema.StopGuestDied || sum.Status != schema.StatusPassed {
		t.Errorf("stop %q, status %q; want guest_died, passed", sum.StopReason, sum.Status)
	}
	v := sum.VM
	if v == nil || v.Died == nil || v.SummaryFrom != "timeline" || v.Died.Class != string(f.Class) {
		t.Fatalf("vm %+v: want died, summary from the timeline", v)
	}
	if v.BootSec <= 0 || v.RunSec <= 0 {
		t.Errorf("vm times: boot %v, run %v", v.BootSec, v.RunSec)
	}
	tl := readTimeline(t, dir)
	last := tl.Samples[len(tl.Samples)-1]
	if f.AtSec < last.Elapsed {
		t.Errorf("death at %.3fs, before the last sample (%.3fs)", f.AtSec, last.Elapsed)
	}
	if sum.Ops.OK == 0 {
		t.Error("the rebuilt summary counts no successful write")
	}
	var death bool
	for _, e := range tl.Events {
		death = death || (e.Source == schema.EventSourceVM && e.Kind == string(f.Class))
	}
	if !death || tl.End != nil {
		t.Errorf("timeline: death event %v, end line %v; want the death and no end line", death, tl.End)
	}
	// The rebuilt summary was written: report and sweeps read it.
	if s, err := record.ReadSummary(dir); err != nil || s.StopReason != schema.StopGuestDied {
		t.Errorf("summary.json: %v, %v", s, err)
	}
}

// TestVMThresholdAbort: a threshold with abort is judged inside the guest,
// on its own samples: the shipped vm-push in a 1G guest (which holds for
// longer than this run) stops as soon as 200 writes went through, stop
// reason threshold, the threshold marked as the one that stopped it.
func TestVMThresholdAbort(t *testing.T) {
	needVM(t)
	sc := testkit.Shipped(t, "vm-push.yaml")
	sc.VM.Memory = 1024
	sc.Stop.Duration = scenarios.Duration(40 * time.Second)
	sc.Thresholds = []scenarios.Threshold{{Metric: "ops.ok", Max: "200", Abort: true}}
	if err := scenarios.Validate(sc); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	defer logConsole(t, dir)
	sum, _, err := runner.Run(context.Background(), sc, runner.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if sum.StopReason != schema.StopThreshold || sum.VM == nil || sum.VM.SummaryFrom != "guest" {
		t.Fatalf("stop %q, vm %+v: want threshold, the guest's own summary", sum.StopReason, sum.VM)
	}
	if len(sum.Thresholds) != 1 || !sum.Thresholds[0].Aborted || sum.Ops.OK <= 200 || sum.ElapsedSec >= 30 {
		t.Errorf("thresholds %+v, ok %d after %.1fs: want the one threshold crossed and marked aborted, well before the end", sum.Thresholds, sum.Ops.OK, sum.ElapsedSec)
	}
}

// TestVMSweepInterrupted starts the shipped bug98-maxmem sweep and
// interrupts it while its first guest runs: the sweep returns with that
// run interrupted, and no qemu is left.
func TestVMSweepInterrupted(t *testing.T) {
	needVM(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := t.TempDir()
	type result struct {
		sum *schema.SweepSummary
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, _, err := sweep.Start(ctx, filepath.Join(testkit.Root(t), "scenarios.d/sweeps/bug98-maxmem.sweep.yaml"), out, time.Now(), sweep.Options{})
		done <- result{s, err}
	}()
	// Before its first qemu the sweep checks every point and builds the
	// first guest's initramfs, unless an earlier test's base is cached
	// (49 s in a race-built test binary; once over 60 s in CI).
	var qemu []int
	var r result
	ended := false
	start := time.Now()
	waitFor(t, "a qemu of the sweep", 3*time.Minute, func() bool {
		select {
		case r = <-done:
			ended = true
			return true
		default:
		}
		qemu = qemuChildren(os.Getpid())
		return len(qemu) > 0
	})
	if ended {
		t.Fatalf("the sweep ended before any qemu started: %v", r.err)
	}
	t.Logf("first qemu after %v", time.Since(start).Round(time.Millisecond))
	cancel()
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the sweep did not return within 30 s of the interrupt")
	}
	if r.err != nil {
		t.Fatalf("sweep: %v", r.err)
	}
	for _, p := range qemu {
		if alive(p) {
			t.Errorf("qemu %d still runs after the interrupted sweep", p)
		}
	}
	if left := qemuChildren(os.Getpid()); len(left) > 0 {
		t.Errorf("qemu processes left: %v", left)
	}
	// Cut off before it could fail: interrupted, not a run that survived.
	if p := r.sum.Points[0]; p.Runs != 0 || p.Interrupted != 1 {
		t.Errorf("point 0: %d runs, %d interrupted; want no run to its end and the one interrupted", p.Runs, p.Interrupted)
	}
}

// TestVMWorkerKilled runs nobufs itself (supervisor and worker) on the
// push scenario and kills the worker with SIGKILL while its guest runs:
// qemu dies with it (PDEATHSIG) and the supervisor reports the crash.
// Then the push sweep, interrupted by SIGHUP: exit 130, no qemu left.
func TestVMWorkerKilled(t *testing.T) {
	bin := needVM(t)
	root := testkit.Root(t)
	t.Run("SIGKILL to the worker", func(t *testing.T) {
		cmd := exec.Command(bin, "run", "--quiet", "--out", t.TempDir(), filepath.Join(root, "scenarios.d/vm-push.yaml"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		var worker int
		var qemu []int
		waitFor(t, "the worker's qemu", 60*time.Second, func() bool {
			for _, w := range children(cmd.Process.Pid) {
				if q := qemuChildren(w); len(q) > 0 {
					worker, qemu = w, q
					return true
				}
			}
			return false
		})
		if err := syscall.Kill(worker, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "qemu gone after its worker's death", 10*time.Second, func() bool { return !alive(qemu[0]) })
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("supervisor: %v, want exit 3 (stderr: %s)", err, stderr.String())
		}
	})
	t.Run("SIGHUP to a sweep", func(t *testing.T) {
		cmd := exec.Command(bin, "sweep", "--quiet", "--out", t.TempDir(), filepath.Join(root, "scenarios.d/sweeps/bug98-maxmem-push.sweep.yaml"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		var qemu []int
		waitFor(t, "the sweep's qemu", 60*time.Second, func() bool {
			for _, w := range children(cmd.Process.Pid) {
				if qemu = qemuChildren(w); len(qemu) > 0 {
					return true
				}
			}
			return false
		})
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("sweep after SIGHUP: %v, want exit 130", err)
		}
		if alive(qemu[0]) {
			t.Errorf("qemu %d still runs after the sweep ended", qemu[0])
		}
	})
}

// children lists the live processes whose parent is pid.
func children(pid int) []int {
	return procs(func(comm string, ppid int) bool { return ppid == pid })
}

// qemuChildren lists the live qemu processes whose parent is pid.
func qemuChildren(pid int) []int {
	return procs(func(comm string, ppid int) bool { return ppid == pid && strings.Contains(comm, "qemu-system") })
}

// procs lists the live (not zombie) processes for which keep is true.
func procs(keep func(comm string, ppid int) bool) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces: cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		j := strings.IndexByte(s, '(')
		if i < 0 || j < 0 || j > i {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		ppid, err := strconv.Atoi(f[1])
		if err == nil && keep(s[j+1:i], ppid) {
			out = append(out, p)
		}
	}
	return out
}
