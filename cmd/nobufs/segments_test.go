package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// writeScenario writes sc into dir and returns the file.
func writeScenario(t *testing.T, dir string, sc *scenarios.Scenario) string {
	t.Helper()
	b, err := yaml.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, sc.Name+".yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// runIn runs `nobufs run` in-process (segment processes re-execute this
// test binary as nobufs) and returns the run's summary.
func runIn(t *testing.T, file, out string, extra ...string) *schema.Summary {
	t.Helper()
	t.Setenv(envRunMain, "1") // for the segment processes
	var so, se bytes.Buffer
	args := append([]string{"run", "--quiet", "--host-state=false", "--out", out}, extra...)
	if code := execute(context.Background(), &state{stdout: &so, stderr: &se}, append(args, file)); code != exitOK {
		t.Fatalf("run %s: exit %d\n%s%s", file, code, so.String(), se.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "*", "*"))
	if len(dirs) != 1 {
		t.Fatalf("run directories under %s: %v, want one", out, dirs)
	}
	s, err := record.ReadSummary(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// segmentCounts are what must be the same however many segments ran.
type segmentCounts struct {
	Issued, OK, Failed, Connects, Accepted uint64
	Extra                                  uint64 // the kind's own count
}

func countsOf(s *schema.Summary) segmentCounts {
	c := segmentCounts{Issued: s.Ops.Issued, OK: s.Ops.OK, Failed: s.Ops.Failed, Connects: s.Latency["connect"].Count, Accepted: s.Target.Accepted}
	switch {
	case s.Hold != nil:
		c.Extra = s.Hold.Opened*1_000_000 + s.Hold.HeldAtEnd
	case s.Churn != nil:
		c.Extra = s.Churn.Connects
	}
	return c
}

// TestSegmentsMergeLikeOneProcess: the shipped hold-100k.yaml, made
// small, and a churn with seeded lifetimes, run as 3 segment processes,
// merge to the same counts as one process — the union of the segments is
// the same experiment (global operation indices: the churn's mean drawn
// lifetime, which depends on each operation's index, is the same too).
func TestSegmentsMergeLikeOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts segment processes")
	}
	testkit.NeedLoopback8(t)
	hold := testkit.Shipped(t, "hold-100k.yaml")
	hold.Hold.Connections, hold.Load.Workers, hold.Stop.Duration = 300, 12, scenarios.Duration(700e6)
	churn := testkit.Parse(t, `
name: churn-seg
kind: churn
churn: {peers: 3, lifetime: "exponential(3ms)", gap: "fixed(2ms)", send: "fixed(64)", reply: "fixed(64)"}
load: {workers: 6, seed: 7}
stop: {duration: 20s, max_ops: 90}
`)
	for _, sc := range []*scenarios.Scenario{hold, churn} {
		t.Run(sc.Kind, func(t *testing.T) {
			dir := t.TempDir()
			one := *sc
			one.Load.Segments = 0
			three := *sc
			three.Load.Segments = 3
			s1 := runIn(t, writeScenario(t, dir, &one), filepath.Join(dir, "one"))
			s3 := runIn(t, writeScenario(t, t.TempDir(), &three), filepath.Join(dir, "three"))
			if got, want := countsOf(s3), countsOf(s1); got != want {
				t.Errorf("3 segments: %+v, want the 1-process counts %+v", got, want)
			}
			if got, want := len(s3.Segments), 3; got != want {
				t.Fatalf("merged summary lists %d segments, want %d", got, want)
			}
			if s3.Status != schema.StatusPassed {
				t.Errorf("merged status %s, want passed (notes %v)", s3.Status, s3.Notes)
			}
			if s1.Churn != nil {
				if a, b := s3.Churn.MeanLifetimeSec, s1.Churn.MeanLifetimeSec; math.Abs(a-b) > 1e-9*b {
					t.Errorf("merged mean lifetime %v s, one process %v s: the segments drew other lifetimes", a, b)
				}
			}
		})
	}
}

// TestIndexedJobContract emulates a Kubernetes Indexed Job: three
// processes with JOB_COMPLETION_INDEX 0, 1, 2 run `run --segment env` into
// one directory, and `nobufs merge` folds them into the counts of one
// process; with a pod missing the merged run is partial (exit 1).
func TestIndexedJobContract(t *testing.T) {
	if testing.Short() {
		t.Skip("starts segment processes")
	}
	testkit.NeedLoopback8(t)
	sc := testkit.Shipped(t, "hold-100k.yaml")
	sc.Hold.Connections, sc.Load.Workers, sc.Stop.Duration = 240, 9, scenarios.Duration(500e6)
	sc.Load.Segments = 3
	dir := t.TempDir()
	file := writeScenario(t, dir, sc)
	one := *sc
	one.Load.Segments = 0
	want := countsOf(runIn(t, writeScenario(t, t.TempDir(), &one), filepath.Join(dir, "one")))

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, pods := range []int{3, 2} {
		t.Run(fmt.Sprintf("%d of 3 pods", pods), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "job")
			var cmds []*exec.Cmd
			for i := range pods {
				cmd := exec.Command(self, "run", "--quiet", "--host-state=false", "--segment", "env", "--out", out, file)
				cmd.Env = append(os.Environ(), envRunMain+"=1", "JOB_COMPLETION_INDEX="+strconv.Itoa(i))
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds = append(cmds, cmd)
			}
			for _, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("pod: %v", err)
				}
			}
			var so, se bytes.Buffer
			code := execute(context.Background(), &state{stdout: &so, stderr: &se}, []string{"merge", out})
			s, err := record.ReadSummary(out)
			if err != nil {
				t.Fatalf("merge exit %d: %v\n%s", code, err, se.String())
			}
			if pods == 3 {
				if code != exitOK || s.Status != schema.StatusPassed {
					t.Errorf("merge: exit %d, status %s; want 0, passed", code, s.Status)
				}
				if got := countsOf(s); got != want {
					t.Errorf("merged pods: %+v, want the 1-process counts %+v", got, want)
				}
				return
			}
			if code != exitFailed || s.Status != schema.StatusPartial {
				t.Errorf("merge with a pod missing: exit %d, status %s; want %d, partial", code, s.Status, exitFailed)
			}
			if got := s.Segments[2].Status; got != schema.StatusMissing {
				t.Errorf("segment 2 status %q, want %q", got, schema.StatusMissing)
			}
		})
	}
}
