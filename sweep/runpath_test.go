package sweep

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/runner"
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
