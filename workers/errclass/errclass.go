// Package errclass classifies failed socket calls.
//
// Every failed call is recorded as an ErrorKey: the phase of the socket's
// life in which it failed, the OS-independent class of the failure and the
// raw OS code. Classification works on error VALUES only — errors.As down to
// syscall.Errno / *os.SyscallError and errors.Is against well-known sentinel
// errors. The text returned by Error() is never inspected: messages differ
// between operating systems, libc versions and locales, and a message that
// happens to read "no buffer space available" proves nothing.
//
// This file must build on every GOOS, so the tables below use literal numbers
// (with the symbolic name in a comment) instead of unix.* or windows.*
// constants.
package errclass

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Phase is the step of a socket's life in which a call failed.
type Phase string

// Phases.
const (
	PhaseSocket     Phase = "socket"
	PhaseBind       Phase = "bind"
	PhaseConnect    Phase = "connect"
	PhaseListen     Phase = "listen"
	PhaseAccept     Phase = "accept"
	PhaseSend       Phase = "send"
	PhaseRecv       Phase = "recv"
	PhaseClose      Phase = "close"
	PhaseSetsockopt Phase = "setsockopt"
	PhaseOther      Phase = "other"
)

// Class is the meaning of a failure, the same on every OS.
type Class string

// Classes of failure. The E* classes come from an OS error code; deadline,
// eof, canceled and other carry no code (ErrorKey.Code is 0 for them,
// except ClassOther, which keeps the raw code when there is one); the last
// four are failures that are not an errno of the failing call.
const (
	ClassENOBUFS       Class = "enobufs"
	ClassEADDRNOTAVAIL Class = "eaddrnotavail"
	ClassEADDRINUSE    Class = "eaddrinuse"
	ClassEMFILE        Class = "emfile"
	ClassENFILE        Class = "enfile"
	ClassECONNREFUSED  Class = "econnrefused"
	ClassECONNRESET    Class = "econnreset"
	ClassECONNABORTED  Class = "econnaborted"
	ClassETIMEDOUT     Class = "etimedout"
	ClassEHOSTUNREACH  Class = "ehostunreach"
	ClassENETUNREACH   Class = "enetunreach"
	ClassENETDOWN      Class = "enetdown"
	ClassEPIPE         Class = "epipe"
	ClassEAGAIN        Class = "eagain"
	ClassEINPROGRESS   Class = "einprogress"
	ClassEINVAL        Class = "einval"
	ClassEACCES        Class = "eacces"
	ClassEPERM         Class = "eperm"
	ClassENOMEM        Class = "enomem"

	// ClassDeadline: our own deadline/timeout expired
	// (os.ErrDeadlineExceeded, context.DeadlineExceeded, or an error whose
	// Timeout() reports true, with no errno underneath). Code 0.
	ClassDeadline Class = "deadline"
	// ClassEOF: the peer closed the stream (io.EOF, io.ErrUnexpectedEOF). Code 0.
	ClassEOF Class = "eof"
	// ClassCanceled: context.Canceled, or net.ErrClosed caused by our own
	// shutdown closing the socket. Code 0.
	ClassCanceled Class = "canceled"
	// ClassOther: anything else. The raw code is kept when there is one.
	ClassOther Class = "other"

	// The classes of failures that are not an errno of the failing call
	// (docs/errors.md, "Failure without an errno"). A kind or a placement
	// gives them with Reclass or records them itself.

	// ClassOrphanReset: the reading peer of a connection whose writer had
	// already closed it (an orphan, still holding the unsent data) got a
	// reset before the data's end: the kernel killed the orphan because
	// TCP memory passed tcp_mem or the orphans passed tcp_max_orphans. The
	// raw code (ECONNRESET) is kept.
	ClassOrphanReset Class = "orphan-reset"
	// ClassStall: the run made no progress (no operation ended well, no
	// byte moved) for stop.stall. Code 0.
	ClassStall Class = "stall"
	// ClassGuestPanic: the VM guest the run ran in died: its kernel
	// panicked, or it ended before its results were out. Code 0.
	ClassGuestPanic Class = "guest-panic"
	// ClassGuestOOM: the VM guest ran out of memory (the OOM killer, or
	// "System is deadlocked on memory"). Code 0.
	ClassGuestOOM Class = "guest-oom"
)

// allClasses is the stable order returned by Classes.
var allClasses = [...]Class{
	ClassENOBUFS,
	ClassEADDRNOTAVAIL,
	ClassEADDRINUSE,
	ClassEMFILE,
	ClassENFILE,
	ClassECONNREFUSED,
	ClassECONNRESET,
	ClassECONNABORTED,
	ClassETIMEDOUT,
	ClassEHOSTUNREACH,
	ClassENETUNREACH,
	ClassENETDOWN,
	ClassEPIPE,
	ClassEAGAIN,
	ClassEINPROGRESS,
	ClassEINVAL,
	ClassEACCES,
	ClassEPERM,
	ClassENOMEM,
	ClassDeadline,
	ClassEOF,
	ClassCanceled,
	ClassOther,
	ClassOrphanReset,
	ClassStall,
	ClassGuestPanic,
	ClassGuestOOM,
}

// Classes returns every Class in a stable order: the classes of failed
// calls (enobufs … other), then SignalClasses. The slice is a fresh copy.
func Classes() []Class {
	out := make([]Class, 0, len(allClasses)+len(signalClasses))
	out = append(out, allClasses[:]...)
	return append(out, signalClasses[:]...)
}

// ValidClass reports whether s names a Class.
func ValidClass(s string) bool {
	for _, c := range allClasses {
		if string(c) == s {
			return true
		}
	}
	return IsSignalClass(Class(s))
}

// ErrorKey identifies one kind of failure. Code is the raw OS code (errno on
// Unix, WSA/Win32 number on Windows), 0 when there is none.
type ErrorKey struct {
	Phase Phase `json:"phase"`
	Class Class `json:"class"`
	Code  int   `json:"code"`
}

// String renders the key as "phase/class(code)", e.g.
// "connect/eaddrnotavail(99)", or "phase/class" when Code is 0.
func (k ErrorKey) String() string {
	s := string(k.Phase) + "/" + string(k.Class)
	if k.Code != 0 {
		s += "(" + strconv.Itoa(k.Code) + ")"
	}
	return s
}

// syscallPhase maps the lower-cased Syscall field of an *os.SyscallError, as
// written by the net and internal/poll packages, to a Phase.
var syscallPhase = map[string]Phase{
	"socket":      PhaseSocket,
	"bind":        PhaseBind,
	"connect":     PhaseConnect,
	"connectex":   PhaseConnect, // Windows ConnectEx completion
	"listen":      PhaseListen,
	"accept":      PhaseAccept,
	"accept4":     PhaseAccept,
	"acceptex":    PhaseAccept, // Windows AcceptEx
	"write":       PhaseSend,
	"writev":      PhaseSend,
	"sendto":      PhaseSend,
	"sendmsg":     PhaseSend,
	"send":        PhaseSend,
	"wsasend":     PhaseSend,
	"wsasendto":   PhaseSend,
	"wsasendmsg":  PhaseSend,
	"read":        PhaseRecv,
	"readv":       PhaseRecv,
	"recvfrom":    PhaseRecv,
	"recvmsg":     PhaseRecv,
	"wsarecv":     PhaseRecv,
	"wsarecvfrom": PhaseRecv,
	"wsarecvmsg":  PhaseRecv,
	"close":       PhaseClose,
	"shutdown":    PhaseClose,
	"setsockopt":  PhaseSetsockopt,
	"getsockopt":  PhaseSetsockopt,
}

// Classify returns the key for err. fallback is the phase the caller was in.
//
// Phase: taken from the outermost *os.SyscallError's Syscall name when that
// name is known (see syscallPhase; matching ignores case), otherwise fallback.
// *net.OpError's Op is not used ("dial", "read", … are too coarse).
//
// An error of Reclass gives its class, with the phase and raw code of the
// error it wraps. A *ClassError gives its own Class (code 0) and the
// fallback phase.
//
// Class and Code: from the syscall.Errno found with errors.As, classified by
// ClassOf(runtime.GOOS, code). With no errno: deadline, eof or canceled (code
// 0) as documented on those classes, otherwise other with code 0.
//
// A nil err gives the zero ErrorKey.
func Classify(err error, fallback Phase) ErrorKey {
	if err == nil {
		return ErrorKey{}
	}
	if k, ok := classifyFast(err, fallback); ok {
		return k
	}
	k := ErrorKey{Phase: fallback}
	var rc *reclassed
	if errors.As(err, &rc) {
		k = Classify(rc.err, fallback)
		k.Class = rc.class
		return k
	}
	if ce := (*ClassError)(nil); errors.As(err, &ce) {
		k.Class = ce.Class
		return k
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		if p, ok := syscallPhase[strings.ToLower(se.Syscall)]; ok {
			k.Phase = p
		}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		k.Code = int(errno)
		k.Class = ClassOf(runtime.GOOS, k.Code)
		return k
	}
	switch {
	case isDeadline(err):
		k.Class = ClassDeadline
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		k.Class = ClassEOF
	case errors.Is(err, context.Canceled), errors.Is(err, net.ErrClosed):
		k.Class = ClassCanceled
	default:
		k.Class = ClassOther
	}
	return k
}

// reclassed is an error whose class its maker knows better than its errno
// (Reclass).
type reclassed struct {
	class Class
	err   error
}

func (r *reclassed) Error() string { return string(r.class) + ": " + r.err.Error() }
func (r *reclassed) Unwrap() error { return r.err }

// Reclass returns err with its class set to c: Classify gives c, with the
// phase and the raw code err itself has. A kind uses it for a failure whose
// meaning the errno does not carry, such as ClassOrphanReset for an
// ECONNRESET that can only be the kernel killing an orphan. errors.Is and
// errors.As still see err.
func Reclass(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &reclassed{class: c, err: err}
}

// isDeadline reports whether err is, or wraps, a deadline/timeout expiry.
func isDeadline(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return anyTimeout(err, 0)
}

// anyTimeout walks the wrap tree of err (Unwrap() error and Unwrap() []error)
// and reports whether any node has a Timeout() method returning true — the
// net.Error convention. errors.As alone would stop at the first node that
// merely implements the method.
func anyTimeout(err error, depth int) bool {
	for err != nil && depth < 100 {
		if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if anyTimeout(e, depth+1) {
					return true
				}
			}
			return false
		default:
			return false
		}
		depth++
	}
	return false
}

// ClassOf maps a raw OS code to its class for the given GOOS. "linux" uses
// the Linux errno numbers of the common architectures (amd64, 386, arm,
// arm64, riscv64, ppc64, s390x, loong64 — NOT mips*/sparc64, whose numbers
// differ); "windows" uses WSA codes plus the few Win32 ERROR_* codes Go can
// surface from sockets; "darwin", "ios", "freebsd", "netbsd", "openbsd" and
// "dragonfly" share the BSD numbers. Any other GOOS uses the Linux table.
// An unknown code gives ClassOther.
func ClassOf(goos string, code int) Class {
	var t map[int]Class
	switch goos {
	case "windows":
		t = windowsClasses
	case "darwin", "ios", "freebsd", "netbsd", "openbsd", "dragonfly":
		t = bsdClasses
	default:
		t = linuxClasses
	}
	if c, ok := t[code]; ok {
		return c
	}
	return ClassOther
}

// linuxClasses: Linux errno numbers, checked against golang.org/x/sys/unix
// zerrors_linux.go and zerrors_linux_amd64.go (v0.49.0).
var linuxClasses = map[int]Class{
	105: ClassENOBUFS,       // ENOBUFS
	99:  ClassEADDRNOTAVAIL, // EADDRNOTAVAIL
	98:  ClassEADDRINUSE,    // EADDRINUSE
	24:  ClassEMFILE,        // EMFILE
	23:  ClassENFILE,        // ENFILE
	111: ClassECONNREFUSED,  // ECONNREFUSED
	104: ClassECONNRESET,    // ECONNRESET
	103: ClassECONNABORTED,  // ECONNABORTED
	110: ClassETIMEDOUT,     // ETIMEDOUT
	113: ClassEHOSTUNREACH,  // EHOSTUNREACH
	101: ClassENETUNREACH,   // ENETUNREACH
	100: ClassENETDOWN,      // ENETDOWN
	32:  ClassEPIPE,         // EPIPE
	11:  ClassEAGAIN,        // EAGAIN == EWOULDBLOCK
	115: ClassEINPROGRESS,   // EINPROGRESS
	22:  ClassEINVAL,        // EINVAL
	13:  ClassEACCES,        // EACCES
	1:   ClassEPERM,         // EPERM
	12:  ClassENOMEM,        // ENOMEM
}

// bsdClasses: Darwin/FreeBSD/NetBSD/OpenBSD/DragonFly errno numbers, checked
// against golang.org/x/sys/unix zerrors_{darwin,freebsd,netbsd,openbsd,
// dragonfly}_amd64.go (v0.49.0); identical on all five.
var bsdClasses = map[int]Class{
	55: ClassENOBUFS,       // ENOBUFS
	49: ClassEADDRNOTAVAIL, // EADDRNOTAVAIL
	48: ClassEADDRINUSE,    // EADDRINUSE
	24: ClassEMFILE,        // EMFILE
	23: ClassENFILE,        // ENFILE
	61: ClassECONNREFUSED,  // ECONNREFUSED
	54: ClassECONNRESET,    // ECONNRESET
	53: ClassECONNABORTED,  // ECONNABORTED
	60: ClassETIMEDOUT,     // ETIMEDOUT
	65: ClassEHOSTUNREACH,  // EHOSTUNREACH
	51: ClassENETUNREACH,   // ENETUNREACH
	50: ClassENETDOWN,      // ENETDOWN
	32: ClassEPIPE,         // EPIPE
	35: ClassEAGAIN,        // EAGAIN == EWOULDBLOCK
	36: ClassEINPROGRESS,   // EINPROGRESS
	22: ClassEINVAL,        // EINVAL
	13: ClassEACCES,        // EACCES
	1:  ClassEPERM,         // EPERM
	12: ClassENOMEM,        // ENOMEM
}

// windowsClasses: Winsock and Win32 codes, checked against
// golang.org/x/sys/windows zerrors_windows.go (v0.49.0). Windows has no
// ENFILE or EPERM equivalent for sockets.
var windowsClasses = map[int]Class{
	10055: ClassENOBUFS,       // WSAENOBUFS
	10049: ClassEADDRNOTAVAIL, // WSAEADDRNOTAVAIL
	10048: ClassEADDRINUSE,    // WSAEADDRINUSE
	10024: ClassEMFILE,        // WSAEMFILE
	10061: ClassECONNREFUSED,  // WSAECONNREFUSED
	10054: ClassECONNRESET,    // WSAECONNRESET
	10053: ClassECONNABORTED,  // WSAECONNABORTED
	10060: ClassETIMEDOUT,     // WSAETIMEDOUT
	10065: ClassEHOSTUNREACH,  // WSAEHOSTUNREACH
	10051: ClassENETUNREACH,   // WSAENETUNREACH
	10050: ClassENETDOWN,      // WSAENETDOWN
	10058: ClassEPIPE,         // WSAESHUTDOWN: send after shutdown(SD_SEND)
	10035: ClassEAGAIN,        // WSAEWOULDBLOCK
	10036: ClassEINPROGRESS,   // WSAEINPROGRESS
	10022: ClassEINVAL,        // WSAEINVAL
	10013: ClassEACCES,        // WSAEACCES
	64:    ClassECONNRESET,    // ERROR_NETNAME_DELETED
	1236:  ClassECONNABORTED,  // ERROR_CONNECTION_ABORTED
	1225:  ClassECONNREFUSED,  // ERROR_CONNECTION_REFUSED
	121:   ClassETIMEDOUT,     // ERROR_SEM_TIMEOUT
	8:     ClassENOMEM,        // ERROR_NOT_ENOUGH_MEMORY
	14:    ClassENOMEM,        // ERROR_OUTOFMEMORY
}

// windowsNames: symbolic names of all Winsock codes, not only the classified
// ones. Deliberately only the WSA range (10000+): callers show WSAName(code)
// on every OS, and the small Win32 ERROR_* numbers (8, 14, 64, 121, …) are
// ordinary errnos on Unix (ENOEXEC, EFAULT, ENONET, EREMOTEIO), which must
// not be labelled with Windows names. No Unix errno reaches 10000.
var windowsNames = map[int]string{
	10004: "WSAEINTR",
	10009: "WSAEBADF",
	10013: "WSAEACCES",
	10014: "WSAEFAULT",
	10022: "WSAEINVAL",
	10024: "WSAEMFILE",
	10035: "WSAEWOULDBLOCK",
	10036: "WSAEINPROGRESS",
	10037: "WSAEALREADY",
	10038: "WSAENOTSOCK",
	10039: "WSAEDESTADDRREQ",
	10040: "WSAEMSGSIZE",
	10041: "WSAEPROTOTYPE",
	10042: "WSAENOPROTOOPT",
	10043: "WSAEPROTONOSUPPORT",
	10044: "WSAESOCKTNOSUPPORT",
	10045: "WSAEOPNOTSUPP",
	10046: "WSAEPFNOSUPPORT",
	10047: "WSAEAFNOSUPPORT",
	10048: "WSAEADDRINUSE",
	10049: "WSAEADDRNOTAVAIL",
	10050: "WSAENETDOWN",
	10051: "WSAENETUNREACH",
	10052: "WSAENETRESET",
	10053: "WSAECONNABORTED",
	10054: "WSAECONNRESET",
	10055: "WSAENOBUFS",
	10056: "WSAEISCONN",
	10057: "WSAENOTCONN",
	10058: "WSAESHUTDOWN",
	10059: "WSAETOOMANYREFS",
	10060: "WSAETIMEDOUT",
	10061: "WSAECONNREFUSED",
	10062: "WSAELOOP",
	10063: "WSAENAMETOOLONG",
	10064: "WSAEHOSTDOWN",
	10065: "WSAEHOSTUNREACH",
	10066: "WSAENOTEMPTY",
	10067: "WSAEPROCLIM",
	10068: "WSAEUSERS",
	10069: "WSAEDQUOT",
	10070: "WSAESTALE",
	10071: "WSAEREMOTE",
	10091: "WSASYSNOTREADY",
	10092: "WSAVERNOTSUPPORTED",
	10093: "WSANOTINITIALISED",
	10101: "WSAEDISCON",
	10102: "WSAENOMORE",
	10103: "WSAECANCELLED",
	10104: "WSAEINVALIDPROCTABLE",
	10105: "WSAEINVALIDPROVIDER",
	10106: "WSAEPROVIDERFAILEDINIT",
	10107: "WSASYSCALLFAILURE",
	10108: "WSASERVICE_NOT_FOUND",
	10109: "WSATYPE_NOT_FOUND",
	10110: "WSA_E_NO_MORE",
	10111: "WSA_E_CANCELLED",
	10112: "WSAEREFUSED",
	11001: "WSAHOST_NOT_FOUND",
	11002: "WSATRY_AGAIN",
	11003: "WSANO_RECOVERY",
	11004: "WSANO_DATA",
}

// WSAName returns the symbolic name of a Winsock code ("WSAENOBUFS" for
// 10055, …) or "". Win32 ERROR_* codes (64, 1225, …) get "" because their
// numbers collide with Unix errnos; their names are in the comments of the
// Windows table. For display only, always shown beside the number.
func WSAName(code int) string {
	return windowsNames[code]
}
