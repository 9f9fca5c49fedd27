package program

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nobufs/nobufs/lab/sut"
)

// OwnerFile names the file in a launched target's directory that says
// which nobufs process started it (PID and start time); it is removed
// when the target is stopped.
const OwnerFile = "owner"

// owner is OwnerFile's content.
type owner struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

func writeOwner(dir string) error {
	pid := os.Getpid()
	st, err := startTime(pid)
	if err != nil {
		return fmt.Errorf("program: owner: %w", err)
	}
	b, _ := json.Marshal(owner{PID: pid, StartTime: st})
	if err := os.WriteFile(filepath.Join(dir, OwnerFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("program: owner: %w", err)
	}
	return nil
}

func removeOwner(dir string) { _ = os.Remove(filepath.Join(dir, OwnerFile)) }

// ownerAlive reports whether the nobufs process that started the target
// in dir still runs: the owner file names it and its PID still has that
// start time. No owner file: not alive (nothing claims the target).
func ownerAlive(dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, OwnerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("program: owner: %w", err)
	}
	var o owner
	if err := json.Unmarshal(b, &o); err != nil || o.PID <= 0 {
		return false, fmt.Errorf("program: bad owner file %s", filepath.Join(dir, OwnerFile))
	}
	st, err := startTime(o.PID)
	return err == nil && st == o.StartTime, nil
}

// Reap ends the launched target a crashed run left in its run directory
// runDir (the program in runDir/target, its descendants), when the nobufs
// process that started it no longer runs; it returns how many processes
// it ended. A target whose owner still runs is left alone (kept true).
func Reap(runDir string) (n int, kept bool, err error) {
	dir := filepath.Join(runDir, DirName)
	if _, err := os.Stat(filepath.Join(dir, sut.RecordFile)); errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	alive, err := ownerAlive(dir)
	if err != nil {
		return 0, false, err
	}
	if alive {
		return 0, true, nil
	}
	n, err = sut.Reap(dir)
	if err == nil {
		removeOwner(dir)
	}
	return n, false, err
}

// maxCleanupDepth bounds how deep Cleanup looks under the results root:
// <scenario>/<time>/target for a run, <sweep>/<time>/<point>/<rep>/target
// for a sweep's.
const maxCleanupDepth = 6

// Cleanup reaps (Reap) every launched target a dead nobufs left under the
// results root: each directory named target holding a sut.pid. It returns
// what it ended ("DIR: N processes", or that nothing of it was running
// any more) and what it kept (owner still running). A missing root is nothing to do.
func Cleanup(root string) (reaped, kept []string, err error) {
	var errs []error
	werr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return filepath.SkipAll
			}
			return nil // unreadable: not ours to judge
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if depth := strings.Count(rel, string(filepath.Separator)) + 1; rel != "." && depth > maxCleanupDepth {
			return filepath.SkipDir
		}
		if d.Name() != DirName {
			return nil
		}
		if _, err := os.Stat(filepath.Join(path, sut.RecordFile)); err != nil {
			return filepath.SkipDir
		}
		n, k, err := Reap(filepath.Dir(path))
		switch {
		case err != nil:
			errs = append(errs, err)
		case k:
			kept = append(kept, path)
		case n == 0:
			reaped = append(reaped, path+": nothing was left running (its record is removed)")
		default:
			reaped = append(reaped, fmt.Sprintf("%s: %d processes", path, n))
		}
		return filepath.SkipDir
	})
	if werr != nil {
		errs = append(errs, werr)
	}
	return reaped, kept, errors.Join(errs...)
}
