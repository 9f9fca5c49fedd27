package workers

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nobufs/nobufs/workers/errclass"

	"github.com/nobufs/nobufs/scenarios"
)

// TestTargetModes checks what each built-in mode does to a client.
func TestTargetModes(t *testing.T) {
	for _, mode := range []string{scenarios.TargetAcceptClose, scenarios.TargetSink, scenarios.TargetEcho} {
		t.Run(mode, func(t *testing.T) {
			tg, err := StartTarget(mode, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer tg.Close()
			c, err := net.Dial("tcp", tg.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			switch mode {
			case scenarios.TargetAcceptClose:
				// The server closes first: the client reads EOF.
				if _, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("read = %v, want EOF", err)
				}
			case scenarios.TargetSink:
				if _, err := c.Write([]byte("hello")); err != nil {
					t.Fatal(err)
				}
				// Nothing comes back; the sink only closes after we do.
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("read = %v, want our deadline", err)
				}
			case scenarios.TargetEcho:
				if _, err := c.Write([]byte("hello")); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 5)
				if _, err := io.ReadFull(c, b); err != nil || string(b) != "hello" {
					t.Errorf("echo = %q, %v; want hello", b, err)
				}
			}
			c.Close()
			// Close waits for every connection goroutine (goleak checks).
			tg.Close()
			if acc, _ := tg.Stats(); acc != 1 {
				t.Errorf("accepted = %d, want 1", acc)
			}
		})
	}
	if _, err := StartTarget(scenarios.TargetSink, "0.0.0.0:0"); !errors.Is(err, ErrTargetRefused) {
		t.Errorf("StartTarget on 0.0.0.0: err = %v, want ErrTargetRefused", err)
	}
}

// TestDialerInjectedErrors injects failures through the dialer's extra
// control hook, the way a kernel would return them, and checks the class
// the engine would record.
func TestDialerInjectedErrors(t *testing.T) {
	sock := scenarios.Default(scenarios.KindPortExhaustion).Socket
	tests := []struct {
		inject error
		want   errclass.ErrorKey
	}{
		{os.NewSyscallError("connect", syscall.ENOBUFS), errclass.ErrorKey{Phase: errclass.PhaseConnect, Class: errclass.ClassENOBUFS, Code: int(syscall.ENOBUFS)}},
		{os.NewSyscallError("bind", syscall.EADDRINUSE), errclass.ErrorKey{Phase: errclass.PhaseBind, Class: errclass.ClassEADDRINUSE, Code: int(syscall.EADDRINUSE)}},
		{os.NewSyscallError("socket", syscall.EMFILE), errclass.ErrorKey{Phase: errclass.PhaseSocket, Class: errclass.ClassEMFILE, Code: int(syscall.EMFILE)}},
		{os.NewSyscallError("setsockopt", syscall.EINVAL), errclass.ErrorKey{Phase: errclass.PhaseSetsockopt, Class: errclass.ClassEINVAL, Code: int(syscall.EINVAL)}},
	}
	for _, tt := range tests {
		d := newDialer(sock, func(uintptr) error { return tt.inject })
		c, err := d.DialContext(context.Background(), "tcp", "127.0.0.1:9")
		if c != nil {
			c.Close()
		}
		if got := errclass.Classify(err, errclass.PhaseConnect); got != tt.want {
			t.Errorf("inject %v: got %v, want %v", tt.inject, got, tt.want)
		}
	}
}
