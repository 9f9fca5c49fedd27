package sweep

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parallelSweep is host-only and deterministic: each point is a seed, and
// the mean drawn lifetime of its 40 connections depends only on the seed
// and the operation indices, whichever order the runs go in.
const parallelSweep = `name: parallel
scenario:
  name: parallel-point
  kind: churn
  churn: {peers: 2, lifetime: "exponential(2ms)", gap: "fixed(1ms)", send: "fixed(16)", reply: "fixed(16)"}
  load: {workers: 4}
  stop: {duration: 20s, max_ops: 40}
axes:
  - path: load.seed
    values: [1, 2, 3]
repetitions: 2
columns: [churn.connects, churn.mean_lifetime_sec]
`

// TestParallelSweepSameTable: --parallel 3 gives the table of a serial
// run (points in order, each point's repetitions in their places).
func TestParallelSweepSameTable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "parallel.sweep.yaml")
	if err := os.WriteFile(file, []byte(parallelSweep), 0o644); err != nil {
		t.Fatal(err)
	}
	type row struct {
		index, runs, failures int
		class                 string
		cols                  string
		dirs                  string
	}
	table := func(parallel int) []row {
		sum, _, err := Start(context.Background(), file, t.TempDir(), time.Now(), Options{Parallel: parallel})
		if err != nil {
			t.Fatal(err)
		}
		var rows []row
		for _, p := range sum.Points {
			r := row{index: p.Index, runs: p.Runs, failures: p.Failures, class: p.Class, dirs: strings.Join(p.Dirs, ",")}
			b, _ := json.Marshal(p.Columns)
			r.cols = string(b)
			rows = append(rows, r)
		}
		return rows
	}
	serial, par := table(1), table(3)
	if len(serial) != 3 || len(par) != 3 {
		t.Fatalf("points: serial %d, parallel %d, want 3", len(serial), len(par))
	}
	for i := range serial {
		if serial[i] != par[i] {
			t.Errorf("point %d: parallel %+v, serial %+v", i, par[i], serial[i])
		}
	}
	if serial[0].cols == serial[1].cols || serial[0].runs != 2 {
		t.Errorf("points 0 and 1 (seeds 1, 2) have the same columns %s: the test shows nothing", serial[0].cols)
	}
}
