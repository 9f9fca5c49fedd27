package lab

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fakeCgroups builds a cgroup tree: files maps paths under the fake
// cgroupFS to contents; cgroup is /proc/self/cgroup's text.
func fakeCgroups(t *testing.T, cgroup string, files map[string]string) {
	t.Helper()
	root := t.TempDir()
	oldFS, oldProc := cgroupFS, procSelfCgroup
	t.Cleanup(func() { cgroupFS, procSelfCgroup = oldFS, oldProc })
	cgroupFS = filepath.Join(root, "cg")
	procSelfCgroup = filepath.Join(root, "cgroup")
	if err := os.WriteFile(procSelfCgroup, []byte(cgroup), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, v := range files {
		full := filepath.Join(cgroupFS, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckThreads(t *testing.T) {
	tests := []struct {
		name    string
		cgroup  string
		files   map[string]string
		workers int
		refuse  bool
	}{
		{"v1 150 tasks, 1000 workers", "8:pids:/run1\n", map[string]string{"pids/run1/pids.max": "150\n", "pids/run1/pids.current": "3\n"}, 1000, true},
		{"v1 150 tasks, 50 workers", "8:pids:/run1\n", map[string]string{"pids/run1/pids.max": "150\n", "pids/run1/pids.current": "3\n"}, 50, false},
		{"v1 no limit", "8:pids:/run1\n", map[string]string{"pids/run1/pids.max": "max\n"}, 1000, false},
		{"v1 limit on an ancestor", "8:pids:/a/b\n", map[string]string{"pids/a/pids.max": "200\n", "pids/a/pids.current": "100\n", "pids/a/b/pids.max": "max\n"}, 100, true},
		{"v2", "0::/job\n", map[string]string{"cgroup.controllers": "pids\n", "job/pids.max": "150\n", "job/pids.current": "10\n"}, 1000, true},
		{"no pids cgroup", "4:memory:/x\n", nil, 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeCgroups(t, tt.cgroup, tt.files)
			err := checkThreads(tt.workers)
			if got := errors.Is(err, ErrThreads); got != tt.refuse {
				t.Errorf("checkThreads(%d) = %v; want refused: %v", tt.workers, err, tt.refuse)
			}
		})
	}
}
