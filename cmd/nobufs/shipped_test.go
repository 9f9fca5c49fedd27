package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/workers"
)

// TestEveryShippedScenarioIsExercised: every file in scenarios.d and
// scenarios.d/sweeps is named by a test (a Go test or a testscript)
// somewhere in the repository.
func TestEveryShippedScenarioIsExercised(t *testing.T) {
	shipped, _ := filepath.Glob("../../scenarios.d/*.yaml")
	if len(shipped) == 0 {
		t.Fatal("no shipped scenarios")
	}
	sweeps, _ := filepath.Glob("../../scenarios.d/sweeps/*.yaml")
	if len(sweeps) == 0 {
		t.Fatal("no shipped sweeps")
	}
	shipped = append(shipped, sweeps...)
	var tests []byte
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "results") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".txtar") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			tests = append(tests, b...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range shipped {
		name := filepath.Base(f)
		if !bytes.Contains(tests, []byte(name)) {
			t.Errorf("%s is not run by any test", strings.TrimPrefix(f, "../../"))
		}
	}
}

// TestProgressLine: a terminal gets one redrawn line; anything else, or
// --quiet, gets nothing.
func TestProgressLine(t *testing.T) {
	pr := workers.Progress{Elapsed: 1500 * time.Millisecond, OK: 120, Failed: 3, OKPerSec: 80, Open: 4,
		Classes: map[errclass.Class]uint64{errclass.ClassEADDRNOTAVAIL: 3}, TimeToFailure: &schema.Failure{AtSec: 1.2}}
	tests := []struct {
		tty, quiet bool
		width      int
		want       string
	}{
		{true, false, 0, "\r\033[Kpe    1.5s        80 ok/s  open 4  ok 120  failed 3  eaddrnotavail 3  FAILED at 1.200s\r\033[K"},
		{true, false, 120, "\r\033[Kpe    1.5s        80 ok/s  open 4  ok 120  failed 3  eaddrnotavail 3  FAILED at 1.200s\r\033[K"},
		// Narrower than the line: cut to one column less, so it never wraps.
		{true, false, 40, "\r\033[Kpe    1.5s        80 ok/s  open 4  ok 1\r\033[K"},
		{false, false, 40, ""},
		{true, true, 40, ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		p := newProgressLine(&state{stdout: &out, tty: tt.tty, width: tt.width}, tt.quiet, "pe")
		p.update(pr)
		p.clear()
		if got := out.String(); got != tt.want {
			t.Errorf("tty=%v quiet=%v width=%d: got %q, want %q", tt.tty, tt.quiet, tt.width, got, tt.want)
		}
	}
}
