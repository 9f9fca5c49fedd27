package sut

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (PID namespaces, network namespaces)")
	}
}

// TestStartNoFile: the program sees its RLIMIT_NOFILE from its first
// instruction, and nobufs's own limit does not change.
func TestStartNoFile(t *testing.T) {
	var before syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before); err != nil {
		t.Fatal(err)
	}
	for _, share := range []bool{false, true} {
		spec := helperSpec(t, "limits")
		spec.NoFile = 77
		spec.SharePIDNamespace = share
		p, err := Start(context.Background(), spec, "")
		if err != nil {
			t.Fatal(err)
		}
		<-p.Exited()
		if err := p.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
		if got, want := readFile(t, p.Info().Stdout), "77 77"; got != want {
			t.Errorf("share %v: the program saw RLIMIT_NOFILE %q, want %q", share, got, want)
		}
		if got, want := p.Info().NoFileMethod, NoFileExecStop; got != want {
			t.Errorf("NoFileMethod = %q, want %q", got, want)
		}
		if st, _ := p.Exit(); st.Code != 0 {
			t.Errorf("exit %v, want 0", st)
		}
	}
	var after syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("nobufs's own RLIMIT_NOFILE changed from %v to %v", before, after)
	}
}

// TestStartNoFileCannotRaise: a program given a limit cannot raise it
// again (nobufs drops CAP_SYS_RESOURCE for it), as root too.
func TestStartNoFileCannotRaise(t *testing.T) {
	spec := helperSpec(t, "raise")
	spec.NoFile = 64
	p, err := Start(context.Background(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	if err := p.Stop(0); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, p.Info().Stdout), "64 true"; got != want {
		t.Errorf("raising the hard limit: %q, want %q (64, EPERM)", got, want)
	}
	if p.Info().CanRaiseNoFile {
		t.Error("Info.CanRaiseNoFile is set")
	}
}

// TestDropCapForChildren checks the mechanism with a capability this
// process has (CAP_NET_RAW; CAP_SYS_RESOURCE may be missing here): after
// the drop on a locked thread, a child that thread starts has it in
// neither its bounding nor its effective set; nobufs's other threads keep it.
func TestDropCapForChildren(t *testing.T) {
	needRoot(t)
	capsOf := func(status string) (bnd, eff uint64) {
		for _, l := range strings.Split(status, "\n") {
			if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
				bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			}
			if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
				eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			}
		}
		return
	}
	const netRaw = 1 << unix.CAP_NET_RAW
	self, _ := os.ReadFile("/proc/thread-self/status")
	if bnd, eff := capsOf(string(self)); bnd&netRaw == 0 || eff&netRaw == 0 {
		t.Skip("no CAP_NET_RAW to drop")
	}
	type result struct {
		ok     bool
		status string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread's sets changed
		ok := dropCapForChildren(unix.CAP_NET_RAW)
		out, err := exec.Command("/bin/cat", "/proc/self/status").Output()
		res <- result{ok, string(out), err}
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	bnd, eff := capsOf(r.status)
	if !r.ok || bnd&netRaw != 0 || eff&netRaw != 0 {
		t.Errorf("child of the dropping thread: ok %v, CapBnd %x CapEff %x; want CAP_NET_RAW out of both", r.ok, bnd, eff)
	}
	out, err := exec.Command("/bin/cat", "/proc/self/status").Output()
	if err != nil {
		t.Fatal(err)
	}
	if bnd, _ := capsOf(string(out)); bnd&netRaw == 0 {
		t.Errorf("a child of another thread lost CAP_NET_RAW too (CapBnd %x)", bnd)
	}
}

// TestStartNoFileRace measures the two ways to set the limit: at the exec
// stop every child sees it; set after Start returns, some children may
// already have read the old one. Only the first is asserted; the second
// is logged (it depends on scheduling).
func TestStartNoFileRace(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 50
	dir := t.TempDir()
	count := func(after bool) int {
		seen := 0
		for i := range n {
			spec := Spec{Argv: []string{"/bin/cat", "/proc/self/limits"}, RunDir: filepath.Join(dir, strconv.FormatBool(after)+strconv.Itoa(i)), NoFile: 99, SharePIDNamespace: true}
			if err := os.Mkdir(spec.RunDir, 0o755); err != nil {
				t.Fatal(err)
			}
			forceAfterStart = after
			p, err := Start(context.Background(), spec, "")
			forceAfterStart = false
			if err != nil {
				t.Fatal(err)
			}
			<-p.Exited()
			_ = p.Stop(0)
			for _, l := range strings.Split(readFile(t, p.Info().Stdout), "\n") {
				if strings.HasPrefix(l, "Max open files") && strings.Fields(l)[3] == "99" {
					seen++
				}
			}
		}
		return seen
	}
	if got := count(false); got != n {
		t.Errorf("exec-stop: %d of %d children saw the limit, want all", got, n)
	}
	t.Logf("after-start (prlimit once Start returned): %d of %d children saw the limit at their start", count(true), n)
}

// TestStartStop: Stop ends the program and every descendant, with its own
// PID namespace and without; no process is left; Stop can be called twice.
func TestStartStop(t *testing.T) {
	for _, tt := range []struct {
		name  string
		share bool
		mode  string
		grace time.Duration
	}{
		{"own pidns, SIGTERM", false, "fork", 5 * time.Second},
		{"shared pidns, SIGTERM then leftovers", true, "fork", 5 * time.Second},
		{"own pidns, SIGKILL after grace", false, "ignore-term", 50 * time.Millisecond},
		{"shared pidns, SIGKILL after grace", true, "ignore-term", 50 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.share {
				needRoot(t)
			}
			addr := freeAddr(t)
			args := []string{addr}
			if tt.mode == "fork" {
				args = []string{"3", addr}
			}
			spec := helperSpec(t, tt.mode, args...)
			spec.Addr = addr
			spec.SharePIDNamespace = tt.share
			withSubreaper(t)
			p, err := Start(context.Background(), spec, "")
			if err != nil {
				t.Fatal(err)
			}
			info := p.Info()
			if info.PIDNamespace == tt.share {
				t.Errorf("PIDNamespace = %v with SharePIDNamespace %v", info.PIDNamespace, tt.share)
			}
			if _, err := os.Stat(filepath.Join(info.RunDir, RecordFile)); err != nil {
				t.Errorf("record file: %v", err)
			}
			tree := append([]procID{{info.PID, info.StartTime}}, descendants(info.PID)...)
			if tt.mode == "fork" && len(tree) != 4 {
				t.Errorf("tree %v, want the leader and 3 children", tree)
			}
			if err := p.Stop(tt.grace); err != nil {
				t.Fatal(err)
			}
			if err := p.Stop(tt.grace); err != nil {
				t.Fatalf("second Stop: %v", err)
			}
			reapOrphans(t, tree)
			for _, id := range tree {
				if !gone(id.pid, id.start) {
					t.Errorf("pid %d is still there after Stop", id.pid)
				}
			}
			if _, err := os.Stat(filepath.Join(info.RunDir, RecordFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("record file after Stop: %v, want removed", err)
			}
			st, ok := p.Exit()
			if !ok {
				t.Fatal("Exit() not ready after Stop")
			}
			if tt.mode == "ignore-term" && st.Signal != "SIGKILL" {
				t.Errorf("exit %v, want killed by SIGKILL", st)
			}
		})
	}
}

// TestStartContextCancel: ending the Start context stops the program.
func TestStartContextCancel(t *testing.T) {
	addr := freeAddr(t)
	spec := helperSpec(t, "listen", addr)
	spec.Addr = addr
	spec.StopGrace = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, spec, "")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.Exited():
	case <-time.After(15 * time.Second):
		t.Fatal("the program still runs 15s after its context ended")
	}
	if err := p.Stop(0); err != nil {
		t.Fatal(err)
	}
	if !gone(p.Info().PID, p.Info().StartTime) {
		t.Error("process still there")
	}
	if got, want := p.Tail(), "terminated"; len(got) == 0 || got[len(got)-1] != want {
		t.Errorf("tail %q, want last line %q (it got SIGTERM)", got, want)
	}
}

// TestStartFails: a program that ends before it is ready, one that never
// gets ready, one that cannot get its limit, one that is not there: each an
// error value, nothing left behind.
func TestStartFails(t *testing.T) {
	nrOpen, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	tooMany, _ := strconv.ParseUint(strings.TrimSpace(string(nrOpen)), 10, 64)
	tests := []struct {
		name  string
		spec  func() Spec
		check func(t *testing.T, err error)
	}{
		{"ends before ready", func() Spec {
			s := helperSpec(t, "exit", "3", "starting", "We need 1000 file descriptors available")
			s.Addr = freeAddr(t)
			return s
		}, func(t *testing.T, err error) {
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want *ExitError", err)
			}
			// The streams are read apart: the tail's order across them is not fixed.
			if got := strings.Join(slices.Sorted(slices.Values(ee.Tail)), "|"); ee.Status.Code != 3 || got != "We need 1000 file descriptors available|starting" {
				t.Errorf("ExitError status %v tail %q, want 3 and the two lines", ee.Status, ee.Tail)
			}
		}},
		{"never ready", func() Spec {
			s := helperSpec(t, "sleep")
			s.Addr = freeAddr(t)
			s.ReadyTimeout = 200 * time.Millisecond
			return s
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotReady) {
				t.Fatalf("error %v, want ErrNotReady", err)
			}
		}},
		{"limit above fs.nr_open", func() Spec {
			s := helperSpec(t, "sleep")
			s.NoFile = tooMany + 1
			return s
		}, func(t *testing.T, err error) {
			if !errors.Is(err, syscall.EPERM) {
				t.Fatalf("error %v, want EPERM", err)
			}
		}},
		{"no such program", func() Spec {
			return Spec{Argv: []string{"nobufs-no-such-program"}, RunDir: t.TempDir()}
		}, func(t *testing.T, err error) {
			if !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "executable file not found") {
				t.Fatalf("error %v, want not found", err)
			}
		}},
		{"template key missing", func() Spec {
			s := helperSpec(t, "sleep", "{{.NoSuchKey}}")
			return s
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("error %v, want ErrSpec", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec()
			before := childPIDs()
			p, err := Start(context.Background(), spec, "")
			if err == nil {
				p.Stop(0)
				t.Fatal("Start succeeded")
			}
			tt.check(t, err)
			if after := childPIDs(); len(after) > len(before) {
				t.Errorf("children after a failed start: %v (before %v)", after, before)
			}
			if _, err := os.Stat(filepath.Join(spec.RunDir, RecordFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("record file after a failed start: %v", err)
			}
		})
	}
}

// childPIDs lists this process's children (of all threads).
func childPIDs() []int { return children(os.Getpid()) }

// TestVersion reads a first line, from stderr too.
func TestVersion(t *testing.T) {
	got, err := Version(context.Background(), []string{"/bin/sh", "-c", "echo; echo 'nginx version: nginx/1.22.1' >&2; echo second"})
	if err != nil || got != "nginx version: nginx/1.22.1" {
		t.Errorf("Version() = %q, %v", got, err)
	}
	if _, err := Version(context.Background(), []string{"/bin/sh", "-c", "exit 4"}); err == nil {
		t.Error("Version() of a failing command: no error")
	}
}

// TestOutputLines: both streams are captured to files and handed to OnLine.
func TestOutputLines(t *testing.T) {
	spec := helperSpec(t, "exit", "0", "one", "two", "three")
	lines := make(chan Line, 10)
	spec.OnLine = func(l Line) { lines <- l }
	p, err := Start(context.Background(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	if err := p.Stop(0); err != nil {
		t.Fatal(err)
	}
	close(lines)
	got := map[string][]string{}
	for l := range lines {
		got[l.Stream] = append(got[l.Stream], l.Text)
	}
	if g, w := strings.Join(got["stdout"], ","), "one,two"; g != w {
		t.Errorf("stdout lines %q, want %q", g, w)
	}
	if g, w := strings.Join(got["stderr"], ","), "three"; g != w {
		t.Errorf("stderr lines %q, want %q", g, w)
	}
	if got, want := readFile(t, p.Info().Stdout), "one\ntwo"; got != want {
		t.Errorf("stdout file %q, want %q", got, want)
	}
	if got, want := readFile(t, p.Info().Stderr), "three"; got != want {
		t.Errorf("stderr file %q, want %q", got, want)
	}
}

// TestReapAfterKill: a launcher (a stand-in for nobufs) starts a program
// that forks, and is killed with SIGKILL. Pdeathsig ends the program;
// with a shared PID namespace its children outlive it, and Reap ends them.
// A record whose PID now names another process is left alone.
func TestReapAfterKill(t *testing.T) {
	withSubreaper(t)
	for _, share := range []bool{true, false} {
		if !share && os.Geteuid() != 0 {
			continue
		}
		runDir := t.TempDir()
		argv, _ := helperArgv(t, runDir, strconv.FormatBool(share))
		launcher := execHelper(t, "launcher", argv)
		out := launcher.waitLine(t, "started ")
		f := strings.Fields(out)
		pid, _ := strconv.Atoi(f[1])
		if err := launcher.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = launcher.cmd.Wait()
		rec := readFile(t, filepath.Join(runDir, RecordFile))
		if !strings.Contains(rec, `"pid":`+f[1]) {
			t.Fatalf("record %s does not name pid %d", rec, pid)
		}
		// The program got SIGKILL from Pdeathsig.
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := readStat(pid)
			if err != nil || st.state == 'Z' {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("share %v: pid %d still runs 10s after its launcher was killed", share, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Own PID namespace: the kernel ends the children with their
		// leader (as its last thread exits). Shared: the 2 children stay.
		orphans := groupMembers(pid, 0)
		for deadline := time.Now().Add(10 * time.Second); !share && len(orphans) > 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			orphans = groupMembers(pid, 0)
		}
		if want := map[bool]int{true: 2, false: 0}[share]; len(orphans) != want {
			t.Errorf("share %v: %d orphans left after the leader died, want %d", share, len(orphans), want)
		}
		n, err := Reap(runDir)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(orphans) {
			t.Errorf("Reap ended %d, want %d", n, len(orphans))
		}
		reapOrphans(t, append(orphans, procID{pid: pid}))
		if left := groupMembers(pid, 0); len(left) != 0 {
			t.Errorf("after Reap: %v left", left)
		}
		if _, err := os.Stat(filepath.Join(runDir, RecordFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("record after Reap: %v", err)
		}
	}

	// A record naming a live process with another start time: not touched.
	self, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	if err := writeRecord(runDir, record{PID: os.Getpid(), StartTime: self.start + 1}); err != nil {
		t.Fatal(err)
	}
	if n, err := Reap(runDir); n != 0 || err != nil {
		t.Errorf("Reap of a reused PID = %d, %v; want 0, nil", n, err)
	}
}

// TestStartInNetns: a program started in a network namespace listens on
// that namespace's loopback: reachable from inside, not from the host.
func TestStartInNetns(t *testing.T) {
	needRoot(t)
	ns := newNetns(t)
	addr := "127.0.0.1:7070"
	spec := helperSpec(t, "listen", addr)
	spec.Addr = addr
	spec.ReadyConnect = true // readiness by a connect from inside the namespace
	p, err := Start(context.Background(), spec, ns)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if got := p.Info().Netns; got != ns {
		t.Errorf("Info.Netns = %q, want %q", got, ns)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := DialIn(ctx, ns, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 6)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "hello\n" {
		t.Errorf("read %q, %v; want hello", b, err)
	}
	if h, err := DialIn(ctx, "", addr); err == nil {
		h.Close()
		t.Errorf("dial %s from the host namespace succeeded; want refused (the listener is in %s)", addr, ns)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial from the host namespace: %v, want ECONNREFUSED", err)
	}
}

// TestStopDefaultTERM: a program without a SIGTERM handler, first of its
// own PID namespace (where SIGTERM's default action does not apply), is
// stopped at once, not after the grace.
func TestStopDefaultTERM(t *testing.T) {
	needRoot(t)
	spec := Spec{Argv: []string{"/bin/sleep", "60"}, RunDir: t.TempDir()}
	p, err := Start(context.Background(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	if catches(p.PID(), syscall.SIGTERM) {
		t.Fatal("sleep catches SIGTERM")
	}
	done := make(chan error, 1)
	go func() { done <- p.Stop(time.Minute) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Stop waits for the grace")
	}
	if st, _ := p.Exit(); st.Signal != "SIGKILL" {
		t.Errorf("exit %v, want SIGKILL", st)
	}
}

// TestInNetnsLeavesMainThread: whichever thread InNetns and Start use —
// the main one too — it is back in its own namespace afterwards:
// /proc/self/net (the main thread's) keeps showing nobufs's namespace.
func TestInNetnsLeavesMainThread(t *testing.T) {
	needRoot(t)
	ns := newNetns(t)
	before, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 64)
	for range 64 {
		go func() {
			errs <- InNetns(ns, func() error { time.Sleep(time.Millisecond); return nil })
		}()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	spec := helperSpec(t, "limits")
	p, err := Start(context.Background(), spec, ns)
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	p.Stop(0)
	after, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the main thread's network namespace is %s after InNetns, was %s", after, before)
	}
	var threadNS []string
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		if l, err := os.Readlink("/proc/self/task/" + task.Name() + "/ns/net"); err == nil && l != before {
			threadNS = append(threadNS, task.Name()+":"+l)
		}
	}
	if len(threadNS) > 0 {
		t.Errorf("threads left in another namespace: %v", threadNS)
	}
}
