package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/lab"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers/errclass"
	"github.com/nobufs/nobufs/workers/program"
)

// These tests run the shipped real-server scenarios through the one run
// path (the results directory, the launched target, the watchers), each
// against the real program, skipping where it is not installed (CI
// installs tor, nginx and redis-server) or where cells cannot be made.

func needCells(t *testing.T) {
	t.Helper()
	if err := lab.Check(); err != nil {
		t.Skipf("lab cells unavailable here: %v", err)
	}
}

// runShipped runs a shipped scenario into a temporary results directory
// and checks that nothing of the launched target is left running.
func runShipped(t *testing.T, file string, edit ...func(*scenarios.Scenario)) (*schema.Summary, string) {
	t.Helper()
	sc := testkit.Shipped(t, file)
	for _, e := range edit {
		e(sc)
	}
	sum, dir, err := Run(context.Background(), sc, Options{Out: t.TempDir(), HostState: true})
	if err != nil {
		t.Fatalf("run %s: %v", file, err)
	}
	if p := sum.Target.Program; p != nil {
		if syscall.Kill(p.PID, 0) == nil {
			t.Errorf("pid %d (%s) still there after the run", p.PID, p.Argv[0])
		}
		if p.Exit == nil || p.Exit.DuringRun {
			t.Errorf("program exit = %+v, want ended by the run's end", p.Exit)
		}
		for _, f := range []string{"sut.pid", program.OwnerFile} {
			if _, err := os.Stat(filepath.Join(dir, program.DirName, f)); err == nil {
				t.Errorf("%s left in %s", f, dir)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, p.Stdout)); err != nil {
			t.Errorf("the program's output is not in the results: %v", err)
		}
	}
	if c := sum.Cell; c != nil {
		for _, ns := range []string{c.ClientNS, c.TargetNS} {
			if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
				t.Errorf("namespace %s left behind", ns)
			}
		}
	}
	return sum, dir
}

func logMatch(sum *schema.Summary, class errclass.Class) *schema.LogMatch {
	if sum.Watch == nil || sum.Watch.Logs == nil {
		return nil
	}
	for i, m := range sum.Watch.Logs.Matches {
		if m.Class == class {
			return &sum.Watch.Logs.Matches[i]
		}
	}
	return nil
}

// TestShippedTorRelayChurn runs scenarios.d/tor-relay-churn.yaml: P2P
// churn against a real Tor relay in a cell until Tor itself says it has
// run out of connections — its line is the failure, with its time and the
// relay's descriptors then.
func TestShippedTorRelayChurn(t *testing.T) {
	needCells(t)
	testkit.NeedProgram(t, "tor")
	// RLIMIT_NOFILE 256 instead of the file's 512: the same failure from
	// a third of the TLS handshakes (the test shares two cores).
	sum, _ := runShipped(t, "tor-relay-churn.yaml", func(sc *scenarios.Scenario) { sc.Target.NoFile = 256 })
	f := sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassServerConnLimit || f.Phase != errclass.PhaseServer {
		t.Fatalf("time to failure = %+v, want tor's server-conn-limit (errors %+v)", f, sum.Errors)
	}
	// tor allows itself RLIMIT_NOFILE - 32 sockets and warns at the last.
	m := logMatch(sum, errclass.ClassServerConnLimit)
	if m == nil || !strings.Contains(m.FirstLine, "[warn] Failing because we have 223 connections already") || m.FirstAtSec != f.AtSec {
		t.Errorf("tor's line = %+v, want \"Failing because we have 223 connections already\" at the failure", m)
	}
	if p := sum.Watch.Proc; p == nil || p.AtFailure == nil || p.AtFailure.NoFile != 256 || p.AtFailure.FDs < 224 || p.AtFailure.FDs > 256 {
		t.Errorf("tor at the failure = %+v, want 224–256 of 256 descriptors", p)
	}
	if r := sum.Replies; r == nil || len(r.Classes) == 0 || r.Classes[0].Class != "tls-server-hello" {
		t.Errorf("replies = %+v, want TLS ServerHellos", r)
	}
	if sum.Cell == nil || sum.Target.Program.Netns == "" {
		t.Errorf("tor ran outside the cell: cell %+v, netns %q", sum.Cell, sum.Target.Program.Netns)
	}
}

// TestShippedRedisMaxClients runs scenarios.d/redis-maxclients.yaml: the
// refusal of the 33rd client is the failure, with redis's descriptors at
// that moment.
func TestShippedRedisMaxClients(t *testing.T) {
	testkit.NeedProgram(t, "redis-server")
	sum, _ := runShipped(t, "redis-maxclients.yaml")
	f := sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassServerRefused || f.Phase != errclass.PhaseRecv {
		t.Fatalf("time to failure = %+v, want recv/server-refused (errors %+v)", f, sum.Errors)
	}
	var refused bool
	for _, l := range sum.Replies.Lines {
		refused = refused || l.Line == "-ERR max number of clients reached"
	}
	if !refused {
		t.Errorf("replies %+v: no \"-ERR max number of clients reached\"", sum.Replies.Lines)
	}
	if p := sum.Watch.Proc; p == nil || p.AtFailure == nil || p.AtFailure.NoFile != 64 || p.AtFailure.FDs < 33 || p.AtFailure.FDs > 64 {
		t.Errorf("redis at the failure = %+v, want 33–64 of 64 descriptors", p)
	}
	if m := logMatch(sum, errclass.ClassServerFDLow); m == nil || !strings.Contains(m.FirstLine, "maxclients has been reduced to 32") {
		t.Errorf("redis's start-up line = %+v, want its reduced maxclients", m)
	}
}

// TestShippedNginxNoFile runs scenarios.d/nginx-nofile.yaml: nginx's
// accept4() EMFILE line is the failure, and the probe finds the service
// unavailable from then on.
func TestShippedNginxNoFile(t *testing.T) {
	testkit.NeedProgram(t, "nginx")
	sum, _ := runShipped(t, "nginx-nofile.yaml")
	f := sum.TimeToFailure
	if f == nil || f.Class != errclass.ClassServerEMFILE || f.Phase != errclass.PhaseServer {
		t.Fatalf("time to failure = %+v, want server/server-emfile (errors %+v)", f, sum.Errors)
	}
	if m := logMatch(sum, errclass.ClassServerEMFILE); m == nil || !strings.Contains(m.FirstLine, "accept4() failed (24: Too many open files)") {
		t.Errorf("nginx's line = %+v", m)
	}
	p := sum.Watch.Probe
	if p == nil || p.UnavailableFromSec == nil || *p.UnavailableFromSec < f.AtSec {
		t.Errorf("probe = %+v, want unavailable from the failure on", p)
	}
}

// TestShippedHalfOpenSynQueue runs scenarios.d/half-open-syn-queue.yaml:
// the target side's SYN queue fills (SYN_RECV at its limit, cookies), and
// the kernel says so.
func TestShippedHalfOpenSynQueue(t *testing.T) {
	needCells(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skipf("nft not installed: %v", err)
	}
	sum, _ := runShipped(t, "half-open-syn-queue.yaml")
	ts := sum.Watch.TargetSide
	if ts == nil || ts.PeakTCP["syn_recv"] < 60 || ts.PeakTCP["syn_recv"] > 66 {
		t.Fatalf("target side = %+v, want the SYN queue at its 64 (+1)", ts)
	}
	if ts.Counters["TcpExt.TCPReqQFullDoCookies"] == 0 {
		t.Errorf("counters %v: no cookies sent for a full SYN queue", ts.Counters)
	}
	if sum.HalfOpen.Completed != 0 {
		t.Errorf("%d connects completed; the SYN-ACKs are dropped", sum.HalfOpen.Completed)
	}
	if k := sum.Watch.Kernel; k != nil && k.Unavailable == "" {
		f := sum.TimeToFailure
		if f == nil || f.Class != errclass.ClassKernelSYNFlood || f.Phase != errclass.PhaseKernel {
			t.Errorf("time to failure = %+v, want the kernel's SYN flood line", f)
		}
	}
}
