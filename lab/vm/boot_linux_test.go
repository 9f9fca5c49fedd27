package vm

import (
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
	"syscall"
	"testing"
	"time"
)

// The boot tests build internal/testinit as /init, put it in an image with a
// scenario file, and boot it with the cached kernel. They skip only when qemu
// or the kernel cache is missing (.ci/run installs qemu-system-x86 and runs
// make vm-kernel).

const testScenario = "name: vm-test\nkind: churn\n"

var (
	initOnce sync.Once
	initrd   string
	initErr  error
)

// testInitrd builds the test /init and its image once per test binary.
func testInitrd(tb testing.TB) string {
	tb.Helper()
	initOnce.Do(func() {
		bin := filepath.Join(testDir, "init")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./internal/testinit")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			initErr = fmt.Errorf("go build testinit: %w\n%s", err, out)
			return
		}
		initrd = filepath.Join(testDir, "initrd.gz")
		f, err := os.Create(initrd)
		if err != nil {
			initErr = err
			return
		}
		defer f.Close()
		initErr = BuildInitramfs(f, []File{
			{Path: "/init", HostPath: bin},
			{Path: "/etc/nobufs/scenario.yaml", Data: []byte(testScenario)},
		})
	})
	if initErr != nil {
		tb.Fatal(initErr)
	}
	return initrd
}

// testKernel returns the cached kernel, or skips.
func testKernel(tb testing.TB) Kernel {
	tb.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		tb.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	k, err := FindKernel("")
	if errors.Is(err, ErrNoKernel) {
		tb.Skipf("no guest kernel in the cache (make vm-kernel): %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// boot runs the test /init in mode at mem MiB and returns the result and the
// records in the order OnRecord got them.
func boot(tb testing.TB, ctx context.Context, mode string, mem int, tweak func(*Config)) (Result, []Record, error) {
	tb.Helper()
	k := testKernel(tb)
	cfg := Config{
		Kernel:      k.Path,
		Initrd:      testInitrd(tb),
		MemoryMiB:   mem,
		Dir:         tb.TempDir(),
		Append:      []string{"NBTEST=" + mode},
		BootTimeout: 90 * time.Second,
		RunTimeout:  2 * time.Minute,
	}
	var recs []Record
	cfg.OnRecord = func(r Record) { recs = append(recs, r) }
	if tweak != nil {
		tweak(&cfg)
	}
	res, err := Run(ctx, cfg)
	tb.Cleanup(func() {
		if tb.Failed() {
			if b, rerr := os.ReadFile(res.Console); rerr == nil {
				tb.Logf("console (last lines):\n%s", lastLines(string(b), 30))
			}
		}
	})
	assertGone(tb, res.PID)
	return res, recs, err
}

// assertGone checks that no process has the PID qemu had.
func assertGone(tb testing.TB, pid int) {
	tb.Helper()
	if pid <= 0 {
		return
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("after Run: kill(%d, 0) = %v, want ESRCH (qemu left running)", pid, err)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func lineTexts(tb testing.TB, recs []Record) []string {
	tb.Helper()
	var out []string
	for _, r := range recs {
		if r.Type != TypeLine {
			continue
		}
		var s string
		if err := json.Unmarshal(r.Payload, &s); err != nil {
			tb.Fatalf("line record %d: %v", r.Seq, err)
		}
		out = append(out, s)
	}
	return out
}

func TestBootBasic(t *testing.T) {
	t.Parallel()
	res, recs, err := boot(t, context.Background(), "basic", 128, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("boot %v run %v teardown %v, %d records, accel %s", res.BootTime, res.RunTime, res.TeardownTime, res.Records, res.Accel)
	if got, want := res.Exit.Kind, ExitGuest; got != want {
		t.Errorf("exit kind = %q (%+v), want %q", got, res.Exit, want)
	}
	if len(res.Failures) != 0 {
		t.Errorf("failures = %+v, want none", res.Failures)
	}
	if res.BootTime <= 0 || res.Total < res.BootTime {
		t.Errorf("boot time %v, total %v: want 0 < boot <= total", res.BootTime, res.Total)
	}
	// Facts: measured in the guest.
	f := res.Facts
	if f == nil {
		t.Fatal("no facts record")
	}
	if f.MemTotalKB < 85_000 || f.MemTotalKB > 110_000 {
		t.Errorf("MemTotal = %d kB at -m 128M, want about 94,800 (LAB.md §6)", f.MemTotalKB)
	}
	if !(0 < f.TCPMem[0] && f.TCPMem[0] < f.TCPMem[1] && f.TCPMem[1] < f.TCPMem[2]) {
		t.Errorf("tcp_mem = %v, want 0 < min < pressure < max", f.TCPMem)
	}
	if f.TCPWmem[2] <= 0 || f.TCPRmem[2] <= 0 || f.TCPMaxOrphans <= 0 {
		t.Errorf("tcp_wmem %v tcp_rmem %v tcp_max_orphans %d: want all set", f.TCPWmem, f.TCPRmem, f.TCPMaxOrphans)
	}
	if got, want := f.ResultsDevice, "/dev/ttyS1"; got != want {
		t.Errorf("results device = %q, want %q", got, want)
	}
	if !f.Loopback {
		t.Error("loopback not up")
	}
	// Records: facts first, done last, numbered 1..n with no gap.
	if len(recs) != res.Records {
		t.Errorf("OnRecord got %d records, Result says %d", len(recs), res.Records)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d has seq %d, want %d", i, r.Seq, i+1)
		}
	}
	if len(recs) < 2 || recs[0].Type != TypeFacts || recs[len(recs)-1].Type != TypeDone {
		t.Fatalf("record types %v, want facts … done", types(recs))
	}
	if !res.Stream.Done || len(res.Stream.Gaps) != 0 || res.Stream.Corrupt != 0 {
		t.Errorf("stream = %+v, want done, no gap, nothing corrupt", res.Stream)
	}
	if res.Done == nil || !res.Done.OK {
		t.Errorf("done = %+v, want ok", res.Done)
	}
	lines := lineTexts(t, recs)
	want := []string{"hello 1", "hello 2", "hello 3", "loopback connects 20"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	var scen string
	var events []Event
	for _, r := range recs {
		switch r.Type {
		case "scenario":
			r.Decode(&scen)
		case TypeEvent:
			var ev Event
			if err := r.Decode(&ev); err != nil {
				t.Error(err)
			}
			events = append(events, ev)
		}
	}
	// The line testinit wrote into the kernel log, read back from /dev/kmsg.
	const probe = "nobufs-test: TCP: out of memory -- consider tuning tcp_mem"
	if len(events) != 1 || events[0].Kind != EventTCPOOM || events[0].Text != probe || events[0].KmsgSeq == 0 {
		t.Errorf("events = %+v, want one %s event with text %q", events, EventTCPOOM, probe)
	}
	if scen != testScenario {
		t.Errorf("scenario file in the guest = %q, want %q", scen, testScenario)
	}
}

func types(recs []Record) []string {
	var t []string
	for _, r := range recs {
		t = append(t, r.Type)
	}
	return t
}

// TestGuestDies boots guests that die and checks the class Run gives and
// that the records sent before the death are kept.
func TestGuestDies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode  string
		want  []FailureClass
		lines []string
	}{
		// sysrq c: "Kernel panic - not syncing: sysrq triggered crash".
		{"panic", []FailureClass{GuestPanic}, []string{"before 1", "before 2"}},
		// Only /init to kill: "Out of memory and no killable processes",
		// then "System is deadlocked on memory".
		{"oom", []FailureClass{GuestOOM, GuestPanic}, []string{"before oom"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			res, recs, err := boot(t, context.Background(), tt.mode, 128, nil)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			for _, c := range tt.want {
				if !res.Failed(c) {
					t.Errorf("failures = %+v, want %s among them", res.Failures, c)
				}
			}
			if res.Failed(GuestReset) {
				t.Errorf("failures = %+v: a panic is not a plain reset", res.Failures)
			}
			if got, want := res.Exit.Kind, ExitGuest; got != want {
				t.Errorf("exit kind = %q, want %q (panic=-1 -no-reboot ends qemu)", got, want)
			}
			if res.Done != nil {
				t.Errorf("done = %+v, want none", res.Done)
			}
			if got := lineTexts(t, recs); strings.Join(got, "|") != strings.Join(tt.lines, "|") {
				t.Errorf("lines kept = %q, want %q", got, tt.lines)
			}
			if res.Facts == nil {
				t.Error("facts record lost")
			}
		})
	}
}

// TestCancelMidRun cancels the context once the guest has streamed two
// ticks: the records arrive while the guest runs, Run stops qemu, returns
// the context's error, and leaves no process.
func TestCancelMidRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sawTick2 time.Time
	res, recs, err := boot(t, ctx, "idle", 128, func(c *Config) {
		c.Append = append(c.Append, "NBTEST_TICK=300ms")
		next := c.OnRecord
		c.OnRecord = func(r Record) {
			next(r)
			var s string
			if r.Type == TypeLine && json.Unmarshal(r.Payload, &s) == nil && s == "tick 2" {
				sawTick2 = time.Now()
				cancel()
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if sawTick2.IsZero() {
		t.Fatalf("tick 2 never arrived; records %v", types(recs))
	}
	if got, want := res.Exit, (Exit{Kind: ExitKilled, Reason: ReasonCanceled}); got.Kind != want.Kind || got.Reason != want.Reason {
		t.Errorf("exit = %+v, want kind %q reason %q", got, want.Kind, want.Reason)
	}
	if res.TeardownTime <= 0 {
		t.Errorf("teardown time = %v, want > 0", res.TeardownTime)
	}
	t.Logf("teardown after SIGTERM: %v (forced %v, signal %q)", res.TeardownTime, res.Exit.Forced, res.Exit.Signal)
}

// TestBootTimeout: a guest that never writes a record is stopped at the
// boot timeout.
func TestBootTimeout(t *testing.T) {
	t.Parallel()
	res, recs, err := boot(t, context.Background(), "silent", 128, func(c *Config) {
		c.BootTimeout = 1500 * time.Millisecond
	})
	if !errors.Is(err, ErrBootTimeout) {
		t.Fatalf("Run error = %v, want ErrBootTimeout", err)
	}
	if len(recs) != 0 || res.Records != 0 {
		t.Errorf("records = %d, want none", len(recs))
	}
	if got, want := res.Exit.Reason, ReasonBootTimeout; got != want {
		t.Errorf("exit reason = %q, want %q", got, want)
	}
}

// TestQEMUFails: a qemu that refuses its command line is an ErrQEMU, with
// its message.
func TestQEMUFails(t *testing.T) {
	t.Parallel()
	res, _, err := boot(t, context.Background(), "basic", 128, func(c *Config) {
		c.Machine = "no-such-machine"
	})
	if !errors.Is(err, ErrQEMU) {
		t.Fatalf("Run error = %v, want ErrQEMU", err)
	}
	if got, want := res.Exit.Kind, ExitError; got != want {
		t.Errorf("exit kind = %q, want %q", got, want)
	}
}

// TestOnRecordPanics: a panic in the caller's callback still leaves no qemu
// and no goroutine behind (goleak checks the latter at the end).
func TestOnRecordPanics(t *testing.T) {
	t.Parallel()
	k := testKernel(t)
	marker := fmt.Sprintf("NBTEST_ID=panic-%d-%d", os.Getpid(), time.Now().UnixNano())
	called := false
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the callback's panic", p)
			}
		}()
		Run(context.Background(), Config{
			Kernel: k.Path, Initrd: testInitrd(t), MemoryMiB: 128, Dir: t.TempDir(),
			Append: []string{"NBTEST=idle", "NBTEST_TICK=200ms", marker},
			OnRecord: func(r Record) {
				called = true
				panic("boom")
			},
		})
	}()
	if !called {
		t.Fatal("the callback never ran")
	}
	if pids := processesWith(t, marker); len(pids) != 0 {
		t.Errorf("qemu processes left: %v", pids)
	}
}

// processesWith lists the processes whose command line holds word.
func processesWith(tb testing.TB, word string) []int {
	tb.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), word) {
			out = append(out, pid)
		}
	}
	return out
}
