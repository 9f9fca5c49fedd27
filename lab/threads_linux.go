package lab

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrThreads is returned (wrapped) when a cell run needs more threads than
// this process may start: each worker of a cell holds an OS thread inside
// the client namespace for the whole run, and a thread limit hit mid-run
// aborts the Go runtime ("pthread_create failed") with the cell still
// there.
var ErrThreads = errors.New("not enough threads for a cell run")

// threadSlack is the threads a run needs besides its workers: the Go
// runtime's, the target's, the sampler's, the faults'.
const threadSlack = 64

// cgroupFS is where cgroup filesystems are mounted; procSelfCgroup lists
// this process's cgroups. Tests point them at fakes.
var (
	cgroupFS       = "/sys/fs/cgroup"
	procSelfCgroup = "/proc/self/cgroup"
)

// checkThreads refuses a cell run of workers workers when a pids cgroup
// this process is in (v1 or v2, itself or an ancestor) leaves fewer tasks
// free than it needs.
func checkThreads(workers int) error {
	need := int64(workers) + threadSlack
	for _, dir := range pidsCgroups() {
		for d := dir; strings.HasPrefix(d, cgroupFS); d = filepath.Dir(d) {
			limit, ok := readPids(filepath.Join(d, "pids.max"))
			if !ok {
				if d == cgroupFS {
					break
				}
				continue
			}
			cur, _ := readPids(filepath.Join(d, "pids.current"))
			if free := limit - cur; free < need {
				return fmt.Errorf("%w: the %d workers of a cell each hold a thread (%d with the runtime's); %s allows %d tasks and %d are in use: lower load.workers, or raise pids.max",
					ErrThreads, workers, need, filepath.Join(d, "pids.max"), limit, cur)
			}
			if d == cgroupFS {
				break
			}
		}
	}
	return nil
}

// pidsCgroups lists the directories of this process's pids cgroups: the
// v1 pids hierarchy's and the v2 unified one's.
func pidsCgroups() []string {
	f, err := os.Open(procSelfCgroup)
	if err != nil {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			for _, root := range []string{cgroupFS, filepath.Join(cgroupFS, "unified")} {
				if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
					dirs = append(dirs, filepath.Join(root, parts[2]))
				}
			}
		case strings.Contains(","+parts[1]+",", ",pids,"):
			dirs = append(dirs, filepath.Join(cgroupFS, "pids", parts[2]))
		}
	}
	return dirs
}

// readPids reads a pids.max or pids.current file; "max" (no limit) and a
// missing file give ok false.
func readPids(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
