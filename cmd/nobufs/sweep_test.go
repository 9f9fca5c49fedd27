package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSweepResumeNotASweep: --resume of a directory that holds no sweep
// plan is bad input (exit 2), as report of a foreign directory is.
func TestSweepResumeNotASweep(t *testing.T) {
	tests := []struct {
		name string
		plan string // contents of plan.json; "" for none
	}{
		{"no plan", ""},
		{"not json", "garbage\n"},
		{"other schema", `{"schema": 7}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.plan != "" {
				if err := os.WriteFile(filepath.Join(dir, "plan.json"), []byte(tt.plan), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := runCLI(t, "sweep", "--quiet", "--resume", dir)
			if code != exitUsage {
				t.Errorf("exit: got %d, want %d\n%s%s", code, exitUsage, stdout, stderr)
			}
		})
	}
}
