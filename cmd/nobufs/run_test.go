package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunInterruptedBeforeStart: an interrupt that arrives before a run
// starts (while files are checked, or between two files) still exits 130,
// and nothing runs.
func TestRunInterruptedBeforeStart(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "pe.yaml")
	if err := os.WriteFile(sc, []byte("name: pe\nkind: port-exhaustion\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	res := filepath.Join(dir, "res")
	code := execute(ctx, &state{stdout: &out, stderr: &errb}, []string{"run", "--quiet", "--out", res, sc})
	if code != exitInterrupted {
		t.Errorf("exit: got %d, want %d (stdout %q, stderr %q)", code, exitInterrupted, out.String(), errb.String())
	}
	if want := "not run: " + sc; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr: got %q, want it to contain %q", errb.String(), want)
	}
	if _, err := os.Stat(res); !os.IsNotExist(err) {
		t.Errorf("results dir: got %v, want it not made", err)
	}
}
