package sweep

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/runner"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// TestSweepRunsRecordPredictionAndHostState: a sweep's repetitions go
// through the one run path, so each records doctor's prediction beside its
// failure, and the kernel's socket state in its timeline, as `nobufs run`
// does.
func TestSweepRunsRecordPredictionAndHostState(t *testing.T) {
	file := filepath.Join(t.TempDir(), "small.sweep.yaml")
	src := `name: small
scenario:
  name: small
  kind: port-exhaustion
  load: {workers: 1}
  stop: {max_ops: 20}
  port_exhaustion: {close_first: server}
axes:
  - path: load.workers
    values: [1, 2]
repetitions: 1
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Run: runner.Options{SampleEvery: 50 * time.Millisecond, HostState: hoststate.Supported()}}
	sum, dir, err := Start(context.Background(), file, t.TempDir(), time.Now(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Points) != 2 {
		t.Fatalf("points = %d, want 2", len(sum.Points))
	}
	for _, p := range sum.Points {
		for _, rel := range p.Dirs {
			run := filepath.Join(dir, rel)
			s, err := record.ReadSummary(run)
			if err != nil {
				t.Fatal(err)
			}
			if s.Prediction == nil || s.Prediction.Resource == "" {
				t.Errorf("%s: no prediction recorded", rel)
			}
			if s.Latency["connect"].HDR == "" {
				t.Errorf("%s: no encoded connect histogram", rel)
			}
			if !hoststate.Supported() {
				continue
			}
			f, err := os.Open(filepath.Join(run, record.TimelineFile))
			if err != nil {
				t.Fatal(err)
			}
			tl, err := schema.ReadTimeline(rel, f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(tl.Samples) == 0 || tl.Samples[0].Host == nil {
				t.Errorf("%s: timeline samples carry no host state", rel)
			}
		}
	}
}

// TestResumeRefusedWhileInUse: a second resume of a sweep directory in use
// is refused (issue 9 item 20: two at once ran the same point and one
// removed the other's run directory).
func TestResumeRefusedWhileInUse(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lock.sweep.yaml")
	src := "name: lock\nscenario:\n  name: lock\n  kind: port-exhaustion\n  stop: {max_ops: 5}\n  port_exhaustion: {close_first: server}\naxes:\n  - path: load.workers\n    values: [1]\nrepetitions: 1\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, dir, err := Start(context.Background(), file, t.TempDir(), time.Now(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockDir(dir) // another nobufs resuming it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), dir, Options{}); !errors.Is(err, ErrInUse) {
		t.Errorf("Resume while in use: %v, want ErrInUse", err)
	}
	unlock()
	if _, err := Resume(context.Background(), dir, Options{}); err != nil {
		t.Errorf("Resume once free: %v", err)
	}
	if _, err := Resume(context.Background(), t.TempDir(), Options{}); !errors.Is(err, ErrNotSweepDir) {
		t.Errorf("Resume of a directory that is no sweep: %v, want ErrNotSweepDir", err)
	}
}

// TestHostPortSweepNote: port exhaustion swept on the host says its runs
// share the host's TIME_WAITs (issue 9 item 8); in a cell it does not.
func TestHostPortSweepNote(t *testing.T) {
	pe := func(cell bool) *Plan {
		sc := &scenarios.Scenario{Kind: scenarios.KindPortExhaustion}
		if cell {
			sc.Cell = &scenarios.Cell{}
		}
		return &Plan{Repetitions: 3, Points: []scenarios.Point{{Scenario: sc}, {Scenario: sc}}}
	}
	if n := notes(pe(false)); len(n) != 1 {
		t.Errorf("host port-exhaustion sweep notes = %v, want the TIME_WAIT note", n)
	}
	if n := notes(pe(true)); len(n) != 0 {
		t.Errorf("cell port-exhaustion sweep notes = %v, want none", n)
	}
}
