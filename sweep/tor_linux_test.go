package sweep

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nobufs/nobufs/workers/errclass"
)

// TestTorSweepPlan: the shipped Tor sweep's eight points vary the relay's
// ConstrainedSockets, ConstrainedSockSize and RLIMIT_NOFILE (the launched
// target's params and nofile), each run in a cell.
func TestTorSweepPlan(t *testing.T) {
	_, points, err := Load("../scenarios.d/sweeps/tor-constrained-sockets.sweep.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 8 {
		t.Fatalf("%d points, want 8", len(points))
	}
	last := points[7].Scenario
	if got := last.Target.Params; got["ConstrainedSockets"] != "1" || got["ConstrainedSockSize"] != "65536" || last.Target.NoFile != 512 || last.Cell == nil || last.Target.Server != "tor" {
		t.Errorf("point 7: params %v, nofile %d, cell %v; want 1, 65536, 512 in a cell", got, last.Target.NoFile, last.Cell)
	}
	if got := points[0].Scenario; got.Target.Params["ConstrainedSockets"] != "0" || got.Target.NoFile != 256 {
		t.Errorf("point 0: params %v, nofile %d; want 0 and 256", got.Target.Params, got.Target.NoFile)
	}
}

// TestTorSweepRuns runs a short cut of it (ConstrainedSockets 0/1 at
// nofile 256): each point ends with tor's own line, after the descriptors
// tor allows itself (nofile - 32) are used, and nothing is left.
func TestTorSweepRuns(t *testing.T) {
	needCells(t)
	if _, err := exec.LookPath("tor"); err != nil {
		t.Skipf("tor not installed: %v", err)
	}
	base, err := filepath.Abs("../scenarios.d/tor-relay-churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tor-cut.sweep.yaml")
	src := `name: tor-cut
base: ` + base + `
axes:
  - path: target.params.ConstrainedSockets
    values: ["0", "1"]
  - path: target.nofile
    values: [256]
columns: [watch.proc.at_failure.fds]
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _, err := Start(context.Background(), file, t.TempDir(), time.Now(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sum.Points {
		if p.Failures != 1 || p.Class != string(errclass.ClassServerConnLimit) || p.TTF == nil {
			t.Errorf("point %v: %d of 1 failed, class %q; want tor's server-conn-limit", p.Values, p.Failures, p.Class)
		}
	}
	for i, fds := range column(t, sum, "watch.proc.at_failure.fds") {
		if fds < 256-32 || fds > 256 {
			t.Errorf("point %d: tor had %v descriptors at its failure, want 224–256", i, fds)
		}
	}
	if left := cellsLeft(t); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
}
