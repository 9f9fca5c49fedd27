package workers

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

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
		d := NewDialer(sock, func(uintptr) error { return tt.inject })
		c, err := d.DialContext(context.Background(), "tcp", "127.0.0.1:9")
		if c != nil {
			c.Close()
		}
		if got := errclass.Classify(err, errclass.PhaseConnect); got != tt.want {
			t.Errorf("inject %v: got %v, want %v", tt.inject, got, tt.want)
		}
	}
}
