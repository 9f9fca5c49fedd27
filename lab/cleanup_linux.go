package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// lockDir holds the owners' locks (tmpfs: gone at reboot, as the cells).
const lockDir = "/run/nobufs"

var (
	lockMu    sync.Mutex
	lockFile  *os.File
	lockCells int // cells alive that need the lock
)

// holdLock takes this process's owner lock before a cell is made, and
// counts the cell; releaseLock, after the cell is removed, drops the lock
// and its file with the last cell. While any cell lives the lock is held.
func holdLock() error {
	lockMu.Lock()
	defer lockMu.Unlock()
	if lockFile == nil {
		if err := os.MkdirAll(lockDir, 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(lockPath(RunToken()), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		// A cleanup checking this (cell-less) owner may hold the lock
		// for an instant: retry a few times before giving up.
		for range 20 {
			if err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("owner lock %s: %w (another process uses this run token)", f.Name(), err)
		}
		_ = f.Truncate(0)
		_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
		lockFile = f
	}
	lockCells++
	return nil
}

func releaseLock() {
	lockMu.Lock()
	defer lockMu.Unlock()
	if lockCells--; lockCells > 0 || lockFile == nil {
		return
	}
	_ = os.Remove(lockFile.Name()) // before unlocking: no one else holds it
	_ = lockFile.Close()
	lockFile = nil
}

func lockPath(token string) string { return filepath.Join(lockDir, "nb-"+token+".lock") }

// ownerAlive reports whether the owner of a cell still runs: its lock is
// held (new names), or a process with its PID exists (old names). The
// lock's file says which PID held it, for messages.
func ownerAlive(o owner) (alive bool, pid string) {
	if o.token == "" {
		_, err := os.Stat("/proc/" + strconv.Itoa(o.pid))
		return err == nil, strconv.Itoa(o.pid)
	}
	f, err := os.OpenFile(lockPath(o.token), os.O_RDWR, 0)
	if err != nil {
		return false, "" // no lock: its owner died before or after making it
	}
	defer f.Close()
	b := make([]byte, 16)
	n, _ := f.Read(b)
	pid = string(b[:max(n-1, 0)])
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		return true, pid
	}
	return false, pid
}

// Cleanup removes what dead runs left: the named namespaces in /run/netns
// whose names a cell makes (see owner.go), and with them their veth pair —
// a cell makes its veth ends inside its namespaces, so a veth elsewhere is
// never a cell's and is not touched. A namespace whose owner still runs is
// kept and listed in kept, unless force is set; this process's own cells
// are always kept. Nothing without such a name, and nothing that is not a
// namespace mount, is touched.
func Cleanup(force bool) (removed, kept []string, err error) {
	return cleanup(func(o owner) bool { return true }, force)
}

// CleanupToken removes the cells of the run token t, whose owner must have
// died (a supervisor calls it after its worker process ended).
func CleanupToken(t string) (removed, kept []string, err error) {
	return cleanup(func(o owner) bool { return o.token == t }, false)
}

func cleanup(match func(owner) bool, force bool) (removed, kept []string, err error) {
	if err := checkCapable(); err != nil {
		return nil, nil, err
	}
	var errs []error
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		o, ok := ownerOf(e.Name())
		if !ok || !match(o) {
			continue
		}
		if o.token == RunToken() || (o.token == "" && o.pid == os.Getpid()) {
			continue // this process's own cells
		}
		if alive, pid := ownerAlive(o); alive && !force {
			kept = append(kept, fmt.Sprintf("netns %s (its owner, PID %s, is running)", e.Name(), pid))
			continue
		}
		if err := removeNamed(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("namespace %s: %w", e.Name(), err))
			continue
		}
		removed = append(removed, "netns "+e.Name())
	}
	// Locks of owners that died (with or without cells left) go too.
	locks, _ := filepath.Glob(filepath.Join(lockDir, "nb-*.lock"))
	for _, l := range locks {
		t := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(l), "nb-"), ".lock")
		if o := (owner{token: t}); match(o) && t != RunToken() {
			if alive, _ := ownerAlive(o); !alive {
				_ = os.Remove(l)
			}
		}
	}
	slices.Sort(removed)
	slices.Sort(kept)
	return removed, kept, errors.Join(errs...)
}
