package netpoll

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/workers/errclass"
)

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return ap
}

// waitConnect waits on a poller for fd's connect to end.
func waitConnect(t *testing.T, p *Poller, fd int) error {
	t.Helper()
	if err := p.Add(fd, unix.EPOLLOUT); err != nil {
		t.Fatal(err)
	}
	evs := make([]unix.EpollEvent, 4)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		n, _, err := p.Wait(evs, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return ConnectResult(fd)
		}
	}
	t.Fatal("connect did not end within 5s")
	return nil
}

// TestConnectErrorsClassifyAsGo: a refused connect on the event loop has
// the key Go's dialer gives the same failure (connect/econnrefused(111)).
func TestConnectErrorsClassifyAsGo(t *testing.T) {
	ap := freePort(t)
	_, goErr := (&net.Dialer{}).DialContext(context.Background(), "tcp", ap.String())
	if goErr == nil {
		t.Fatal("Go's dialer connected to a closed port")
	}
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fd, done, err := StartConnect(DestOf(ap), nil)
	if err == nil && !done {
		err = waitConnect(t, p, fd)
		Close(fd)
	}
	if err == nil {
		t.Fatal("the event loop connected to a closed port")
	}
	got, want := errclass.Classify(err, errclass.PhaseOther), errclass.Classify(goErr, errclass.PhaseOther)
	if got != want || want.Class != errclass.ClassECONNREFUSED {
		t.Errorf("event loop %v (%#v), Go's dialer %v; want both connect/econnrefused", got, err, want)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "connect" || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %#v is not *os.SyscallError connect over ECONNREFUSED", err)
	}
}

// TestSetupErrorKept: a socket option that fails is returned as it is.
func TestSetupErrorKept(t *testing.T) {
	want := os.NewSyscallError("setsockopt", syscall.ENOBUFS)
	_, _, err := StartConnect(DestOf(freePort(t)), func(int) error { return want })
	if err != want {
		t.Errorf("StartConnect error %v, want the setup's %v", err, want)
	}
}

// TestWakeAndTimeout: Wait returns on Wake, and on its timeout with no
// event; Wake after Close does nothing.
func TestWakeAndTimeout(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]unix.EpollEvent, 4)
	t0 := time.Now()
	n, woken, err := p.Wait(evs, 30)
	if err != nil || n != 0 || woken {
		t.Errorf("Wait(30ms) on nothing = %d, %v, %v; want 0, false, nil", n, woken, err)
	}
	if d := time.Since(t0); d < 25*time.Millisecond {
		t.Errorf("Wait(30ms) returned after %v", d)
	}
	go p.Wake()
	n, woken, err = p.Wait(evs, -1)
	if err != nil || n != 0 || !woken {
		t.Errorf("Wait after Wake = %d, %v, %v; want 0, true, nil", n, woken, err)
	}
	p.Close()
	p.Wake() // must not write to a closed descriptor
	p.Close()
}

// TestServer: the holding server accepts, reads up to its limit, closes
// a connection its client closed, counts all of it, and Kill resets what
// it holds.
func TestServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, _ := ln.(*net.TCPListener).SyscallConn()
	var lfd int
	_ = raw.Control(func(fd uintptr) { lfd = int(fd) })
	s, err := NewServer([]int{lfd}, ServerOptions{ReadLimit: 5})
	if err != nil {
		t.Fatal(err)
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := dial(), dial()
	defer a.Close()
	if _, err := a.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	waitFor(t, func() bool { return s.Accepted() == 2 && s.Active() == 1 && s.BytesRead() == 5 })
	s.Kill()
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = a.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after Kill: %v, want ECONNRESET", err)
	}
	if s.Active() != 0 {
		t.Errorf("active after Kill = %d, want 0", s.Active())
	}
	s.Close() // after Kill: nothing more
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}
