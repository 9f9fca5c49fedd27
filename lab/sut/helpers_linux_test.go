package sut

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() { helperModes["launcher"] = launcher }

// launcher (helper mode; args RUNDIR SHARE) stands in for nobufs: it
// starts "fork 2" in RUNDIR, prints "started PID", and waits to be killed.
func launcher(args []string) int {
	exe, _ := os.Executable()
	share, _ := strconv.ParseBool(args[1])
	spec := Spec{Argv: []string{exe, "2", "127.0.0.1:0"}, Env: helperEnvFor("fork"), RunDir: args[0], SharePIDNamespace: share}
	p, err := Start(context.Background(), spec, "")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	// Wait for both children before reporting.
	for deadline := time.Now().Add(10 * time.Second); len(descendants(p.PID())) < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("started", p.PID())
	time.Sleep(time.Minute)
	return 0
}

// withSubreaper makes this test process the child subreaper while t runs:
// orphans of the programs it starts come to it (and are reaped by
// reapOrphans), instead of to PID 1, which may not reap them.
func withSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// reapOrphans waits for each process that became this process's child
// (an orphan, see withSubreaper), bounded.
func reapOrphans(t *testing.T, ids []procID) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			var ws unix.WaitStatus
			wpid, err := unix.Wait4(id.pid, &ws, unix.WNOHANG, nil)
			if wpid == id.pid || err == unix.ECHILD {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("pid %d not reaped within 10s", id.pid)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

type helperProc struct {
	cmd   *exec.Cmd
	lines chan string
}

// execHelper runs the test binary in a helper mode, reading its stdout.
func execHelper(t *testing.T, mode string, argv []string) *helperProc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnvFor(mode)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helperProc{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		for range h.lines {
		}
	})
	return h
}

// waitLine returns the first line starting with prefix, within 15s.
func (h *helperProc) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				t.Fatalf("helper ended before a line %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
			t.Logf("helper: %s", l)
		case <-timeout:
			t.Fatalf("no line %q within 15s", prefix)
		}
	}
}

var netnsSeq atomic.Int32

// newNetns makes a network namespace with loopback up (removed when t
// ends) and returns its path. Named nb-<pid>-sut<n>, so `nobufs lab
// cleanup` finds it after a crash.
func newNetns(t *testing.T) string {
	t.Helper()
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs ip (iproute2)")
	}
	name := fmt.Sprintf("nb-%d-sut%d", os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command(ip, "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	return filepath.Join("/run/netns", name)
}
