package errclass

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
)

// TestClassifyClassError: an error carrying its class gives that class,
// code 0 and the caller's phase, however it is wrapped, and whatever it
// wraps (an errno under it does not win).
func TestClassifyClassError(t *testing.T) {
	tests := []struct {
		err   error
		phase Phase
		want  ErrorKey
	}{
		{&ClassError{Class: ClassServerRefused, Detail: "-ERR max number of clients reached"}, PhaseRecv, ErrorKey{PhaseRecv, ClassServerRefused, 0}},
		{fmt.Errorf("reply: %w", &ClassError{Class: ClassServerConnLimit}), PhaseServer, ErrorKey{PhaseServer, ClassServerConnLimit, 0}},
		{&ClassError{Class: ClassUnavailable, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, PhaseProbe, ErrorKey{PhaseProbe, ClassUnavailable, 0}},
		// Not a ClassError: classified as before.
		{io.EOF, PhaseRecv, ErrorKey{PhaseRecv, ClassEOF, 0}},
	}
	for _, tt := range tests {
		if got := Classify(tt.err, tt.phase); got != tt.want {
			t.Errorf("Classify(%v, %s): got %v, want %v", tt.err, tt.phase, got, tt.want)
		}
	}
	inner := os.NewSyscallError("connect", syscall.ECONNREFUSED)
	if ce := (&ClassError{Class: ClassUnavailable, Err: inner}); !errors.Is(ce, syscall.ECONNREFUSED) || ce.Error() == "" {
		t.Errorf("ClassError does not unwrap to what it wraps: %v", ce)
	}
}

// TestSignalClasses: the signal classes follow the classes of failed
// calls in Classes, are valid, distinct, and have no OS code to map.
func TestSignalClasses(t *testing.T) {
	all := Classes()
	sig := SignalClasses()
	if len(sig) != 20 {
		t.Errorf("len(SignalClasses()): got %d, want 20", len(sig))
	}
	for i, c := range sig {
		if all[len(all)-len(sig)+i] != c {
			t.Errorf("Classes()[%d] = %q, want %q (signal classes last, in order)", len(all)-len(sig)+i, all[len(all)-len(sig)+i], c)
		}
		if !ValidClass(string(c)) || !IsSignalClass(c) {
			t.Errorf("%q: ValidClass %v, IsSignalClass %v; want both", c, ValidClass(string(c)), IsSignalClass(c))
		}
		for _, goos := range []string{"linux", "windows", "darwin"} {
			for code := 0; code < 12000; code += 7 {
				if ClassOf(goos, code) == c {
					t.Fatalf("ClassOf(%s, %d) = %q: a signal class never comes from a code", goos, code, c)
				}
			}
		}
	}
	for _, c := range []Class{ClassEOF, ClassENOBUFS, "server-", "kernel-oom", ""} {
		if IsSignalClass(c) {
			t.Errorf("IsSignalClass(%q): got true", c)
		}
	}
}
