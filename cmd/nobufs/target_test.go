package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// standalone is `nobufs target` running in a second process.
type standalone struct {
	cmd   *exec.Cmd
	lines chan string // stdout, closed at EOF
	first string      // the "listening …" line
}

// startStandalone starts `nobufs target ARGS` (this test binary acting as
// nobufs) and waits for its "listening" line.
func startStandalone(t *testing.T, args ...string) *standalone {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"target"}, args...)...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &standalone{cmd: cmd, lines: make(chan string, 1000)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default: // a test that stops reading must not block the child
			}
		}
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill() // by PID: only the process this test started
			_ = s.cmd.Wait()
		}
		for range s.lines {
		}
	})
	select {
	case s.first = <-s.lines:
	case <-time.After(20 * time.Second):
		t.Fatal("standalone target printed nothing in 20s")
	}
	return s
}

// stop sends SIGINT, waits for the exit and returns the exit code and the
// last line printed.
func (s *standalone) stop(t *testing.T) (code int, last string, all []string) {
	t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for l := range s.lines {
		all = append(all, l)
		last = l
	}
	err := s.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), last, all
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, last, all
}

var listeningRE = regexp.MustCompile(`^listening (\S+) mode (\S+)(?: peers (\d+) through (\S+))?$`)

func runScenarioText(t *testing.T, src string) *schema.Summary {
	t.Helper()
	sc, err := scenarios.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := workers.Run(context.Background(), sc, workers.Options{Kinds: kinds.Table, Targets: targets.Table})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestStandaloneTargets serves the churn-peer and never-accept modes from a
// second process and loads them from this one.
func TestStandaloneTargets(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses 127.42.10.x, loopback on Linux only (other systems configure 127.0.0.1 alone)")
	}
	t.Run("churn-peer", func(t *testing.T) {
		s := startStandalone(t, "--mode", "churn-peer", "--listen", "127.42.10.1:0", "--peers", "4", "--every", "100ms")
		m := listeningRE.FindStringSubmatch(s.first)
		if m == nil || m[2] != "churn-peer" || m[3] != "4" || !strings.HasPrefix(m[4], "127.42.10.4:") {
			t.Fatalf("first line %q, want listening 127.42.10.1:PORT mode churn-peer peers 4 through 127.42.10.4:PORT", s.first)
		}
		sum := runScenarioText(t, fmt.Sprintf(`name: standalone-churn
kind: churn
target:
  address: %s
load:
  workers: 8
churn:
  peers: 4
  lifetime: fixed(200ms)
  gap: fixed(50ms)
  send: fixed(1000)
  reply: fixed(3000)
  rst: 0.5
stop:
  duration: 1s
`, m[1]))
		c := sum.Churn
		if c == nil || c.Connects < 8 || sum.TimeToFailure != nil || len(sum.Errors) != 0 {
			t.Fatalf("churn %+v, errors %+v; want at least 8 connects and no error", c, sum.Errors)
		}
		if got, want := c.LastPeer, m[4]; got != want {
			t.Errorf("last peer %s, want %s", got, want)
		}
		// Every burst got its full reply.
		if got, want := sum.BytesIn, 3000*c.Bursts; got != want {
			t.Errorf("bytes in %d, want %d (3000 × %d bursts)", got, want, c.Bursts)
		}
		code, last, _ := s.stop(t)
		if code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		var acc, active int
		if _, err := fmt.Sscanf(last, "accepted %d active %d", &acc, &active); err != nil || uint64(acc) != c.Connects || active != 0 {
			t.Errorf("last line %q, want accepted %d active 0", last, c.Connects)
		}
	})
	t.Run("never-accept", func(t *testing.T) {
		s := startStandalone(t, "--mode", "never-accept", "--listen", "127.42.10.20:0", "--backlog", "2", "--every", "50ms")
		m := listeningRE.FindStringSubmatch(s.first)
		if m == nil || m[2] != "never-accept" {
			t.Fatalf("first line %q, want listening ADDR mode never-accept", s.first)
		}
		sum := runScenarioText(t, fmt.Sprintf(`name: standalone-half-open
kind: half-open
target:
  address: %s
load:
  workers: 6
socket:
  connect_timeout: 300ms
stop:
  duration: 1s
`, m[1]))
		h := sum.HalfOpen
		if h == nil {
			t.Fatal("no half-open report")
		}
		if runtime.GOOS == "linux" && h.Completed != 3 {
			t.Errorf("completed %d, want 3 (backlog 2 + 1)", h.Completed)
		}
		if f := sum.TimeToFailure; f == nil || f.Class != errclass.ClassDeadline {
			t.Errorf("time to failure %+v, want deadline", f)
		}
		code, _, all := s.stop(t)
		if code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		if runtime.GOOS == "linux" {
			queued := 0
			for _, l := range all {
				if i := strings.Index(l, " queued "); i >= 0 {
					n, _ := strconv.Atoi(strings.Fields(l[i:])[1])
					queued = max(queued, n)
				}
			}
			if queued != 3 {
				t.Errorf("most queued printed %d, want 3; lines %q", queued, all)
			}
		}
	})
}

// TestTargetFlags checks the mode settings' flag validation, without
// starting anything.
func TestTargetFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"target", "--mode", "churn-peer", "--peers", "0"}, exitUsage, "--peers 0: allowed: 1–4096"},
		{[]string{"target", "--mode", "echo", "--peers", "3"}, exitUsage, "--peers applies to --mode churn-peer and sink only"},
		{[]string{"target", "--mode", "never-accept", "--backlog", "-1"}, exitUsage, "--backlog -1: allowed: 0–65535"},
		{[]string{"target", "--mode", "churn-peer", "--listen", "[::1]:0", "--peers", "2"}, exitUsage, "2 peers need an IPv4 loopback address (127.0.0.0/8), got ::1"},
		{[]string{"target", "--mode", "flood"}, exitUsage, `--mode "flood": allowed:`},
		{[]string{"target", "--mode", "non-reader", "--read-bytes", "-1"}, exitUsage, "--read-bytes and --vanish-after must not be negative"},
		{[]string{"target", "--mode", "vanish", "--vanish-after", "-1s"}, exitUsage, "--read-bytes and --vanish-after must not be negative"},
	}
	for _, tt := range tests {
		var out, errb strings.Builder
		st := &state{stdout: &out, stderr: &errb}
		code := execute(context.Background(), st, tt.args)
		if code != tt.code || !strings.Contains(errb.String(), tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errb.String(), tt.code, tt.msg)
		}
	}
}
