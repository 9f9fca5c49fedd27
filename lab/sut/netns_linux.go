package sut

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// InNetns runs fn on an OS thread that has joined the network namespace
// at path (e.g. /run/netns/NAME): sockets fn creates belong to that
// namespace for their whole life, whichever goroutine uses them later.
// Afterwards the thread returns to its own namespace before it is
// unlocked; if it cannot, it is discarded with the goroutine. (The thread
// may be the main one, whose namespace /proc/self/net shows: it must not
// stay in another.) With path "", fn runs on the calling goroutine.
func InNetns(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restore, err := enterNetns(path)
		if err != nil {
			runtime.UnlockOSThread() // still in its own namespace
			errc <- err
			return
		}
		ferr := fn()
		if restore() == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// enterNetns moves the calling, locked thread into the network namespace
// at path; restore moves it back to the one it was in.
func enterNetns(path string) (restore func() error, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sut: own netns: %w", os.NewSyscallError("open", err))
	}
	if err := setns(path); err != nil {
		unix.Close(orig)
		return nil, err
	}
	return func() error {
		defer unix.Close(orig)
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("sut: back to own netns: %w", os.NewSyscallError("setns", err))
		}
		return nil
	}, nil
}

// DialIn dials addr over TCP from inside the network namespace at path
// ("" = nobufs's own); the connection stays in that namespace.
func DialIn(ctx context.Context, path, addr string) (net.Conn, error) {
	var c net.Conn
	err := InNetns(path, func() error {
		var err error
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return c, err
}

// waitAccepting dials addr (inside netns path) until a connection is
// accepted, stop is closed, or timeout passes. It closes each connection
// at once.
func waitAccepting(path, addr string, timeout time.Duration, stop <-chan struct{}) error {
	return InNetns(path, func() error {
		deadline := time.Now().Add(timeout)
		delay := 5 * time.Millisecond
		for {
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("%w: %s did not accept a connection within %v", ErrNotReady, addr, timeout)
			}
			c, err := net.DialTimeout("tcp", addr, min(left, time.Second))
			if err == nil {
				return c.Close()
			}
			t := time.NewTimer(min(delay, max(time.Until(deadline), 0)))
			select {
			case <-stop:
				t.Stop()
				return errStopped
			case <-t.C:
			}
			delay = min(2*delay, 100*time.Millisecond)
		}
	})
}

// waitListening polls sock_diag (in netns path) until a LISTEN socket on
// addr — or on its port with a wildcard address — belongs to pid or one of
// its descendants, stop is closed, or timeout passes.
func waitListening(path, addr string, pid int, timeout time.Duration, stop <-chan struct{}) error {
	want, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("%w: ReadyAddr: %w", ErrSpec, err)
	}
	d, err := OpenDiag(path)
	if err != nil {
		return err
	}
	defer d.Close()
	deadline := time.Now().Add(timeout)
	delay := 2 * time.Millisecond
	for {
		qs, err := d.Listeners(want.Port())
		if err != nil {
			return err
		}
		var inodes []uint32
		for _, q := range qs {
			if q.Addr == want || q.Addr.Addr().IsUnspecified() {
				inodes = append(inodes, q.Inode)
			}
		}
		if len(inodes) > 0 && holdsSocket(pid, inodes) {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w: nothing of pid %d listens on %s after %v", ErrNotReady, pid, addr, timeout)
		}
		t := time.NewTimer(min(delay, left))
		select {
		case <-stop:
			t.Stop()
			return errStopped
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// holdsSocket reports whether pid or a descendant has a descriptor on one
// of the socket inodes.
func holdsSocket(pid int, inodes []uint32) bool {
	pids := []int{pid}
	for _, d := range descendants(pid) {
		pids = append(pids, d.pid)
	}
	for _, p := range pids {
		dir := "/proc/" + strconv.Itoa(p) + "/fd"
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			l, err := os.Readlink(dir + "/" + e.Name())
			if err != nil {
				continue
			}
			ino, ok := strings.CutPrefix(l, "socket:[")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 32)
			if err == nil && slices.Contains(inodes, uint32(n)) {
				return true
			}
		}
	}
	return false
}

// setns moves the calling (locked) thread into the network namespace at path.
func setns(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sut: netns %s: %w", path, os.NewSyscallError("open", err))
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("sut: netns %s: %w", path, os.NewSyscallError("setns", err))
	}
	return nil
}
