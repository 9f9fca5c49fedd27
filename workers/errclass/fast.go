package errclass

import (
	"net"
	"os"
	"runtime"
	"syscall"
)

// classifyFast classifies the shapes a failed socket call takes on the
// hot path — syscall.Errno, *os.SyscallError wrapping one, and a
// *net.OpError wrapping that (Go's dialer) — by type assertion, without
// errors.As's reflection. Every other shape reports ok false and goes
// the general way; for these the result is the same (a test checks).
func classifyFast(err error, fallback Phase) (k ErrorKey, ok bool) {
	if !fastEnabled {
		return ErrorKey{}, false
	}
	if op, isOp := err.(*net.OpError); isOp {
		err = op.Err
	}
	k.Phase = fallback
	if se, isSE := err.(*os.SyscallError); isSE {
		if p, known := commonPhase(se.Syscall); known {
			k.Phase = p
		} else if p, known := syscallPhase[se.Syscall]; known {
			k.Phase = p
		} else if _, lower := lowerPhase(se.Syscall); !lower {
			return ErrorKey{}, false // mixed case, unknown: the general way
		}
		err = se.Err
	}
	errno, isErrno := err.(syscall.Errno)
	if !isErrno {
		return ErrorKey{}, false
	}
	k.Code = int(errno)
	k.Class = hostClass(k.Code)
	return k, true
}

// commonPhase is syscallPhase for the names of the hot path, without
// hashing the name.
func commonPhase(name string) (Phase, bool) {
	switch name {
	case "connect":
		return PhaseConnect, true
	case "socket":
		return PhaseSocket, true
	case "bind":
		return PhaseBind, true
	case "write", "writev", "sendto", "sendmsg":
		return PhaseSend, true
	case "read", "readv", "recvfrom", "recvmsg":
		return PhaseRecv, true
	case "accept4", "accept":
		return PhaseAccept, true
	case "setsockopt", "getsockopt":
		return PhaseSetsockopt, true
	}
	return "", false
}

// fastEnabled is switched off by a test to compare with the general path.
var fastEnabled = true

// lowerPhase reports whether name is all lower case (then syscallPhase's
// answer is final), and its phase.
func lowerPhase(name string) (Phase, bool) {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return "", false
		}
	}
	return syscallPhase[name], true
}

// hostClasses is ClassOf(runtime.GOOS, code) for small codes, by code.
var hostClasses = func() (t [1024]Class) {
	for i := range t {
		t[i] = ClassOf(runtime.GOOS, i)
	}
	return t
}()

func hostClass(code int) Class {
	if code >= 0 && code < len(hostClasses) {
		return hostClasses[code]
	}
	return ClassOf(runtime.GOOS, code)
}
