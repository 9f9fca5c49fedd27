package errclass

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
)

// classifySlow is Classify without the fast path.
func classifySlow(err error, fallback Phase) ErrorKey {
	saved := fastEnabled
	fastEnabled = false
	defer func() { fastEnabled = saved }()
	return Classify(err, fallback)
}

// TestFastPathAgrees: the type-assertion path gives what the general
// errors.As path gives, for every shape it takes and for shapes it must
// leave alone.
func TestFastPathAgrees(t *testing.T) {
	var errs []error
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EADDRNOTAVAIL, syscall.ENOBUFS, syscall.EMFILE, syscall.ETIMEDOUT, 10055, 5000} {
		for _, name := range []string{"connect", "socket", "bind", "write", "read", "accept4", "setsockopt", "Connect", "CONNECTEX", "wsasend", "frobnicate"} {
			se := os.NewSyscallError(name, e)
			errs = append(errs, se, &net.OpError{Op: "dial", Net: "tcp", Err: se})
		}
		errs = append(errs, e, &net.OpError{Op: "read", Err: e})
	}
	errs = append(errs, os.ErrDeadlineExceeded, &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, errors.New("x"),
		&net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "connect", Err: errors.New("not an errno")}})
	for _, err := range errs {
		for _, fb := range []Phase{PhaseConnect, PhaseRecv} {
			if got, want := Classify(err, fb), classifySlow(err, fb); got != want {
				t.Errorf("Classify(%#v, %s) = %v, want %v (the general path)", err, fb, got, want)
			}
		}
	}
}
