package sut

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// InNetns runs fn on a fresh OS thread that has joined the network
// namespace at path (e.g. /run/netns/NAME) and discards that thread when fn
// returns: sockets fn creates belong to that namespace for their whole life,
// whichever goroutine uses them later. With path "", fn runs on the
// calling goroutine.
func InNetns(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the goroutine's end takes the thread with it, so
		// no other goroutine ever runs in the namespace by accident.
		runtime.LockOSThread()
		if err := setns(path); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
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
