package errclass

import "fmt"

// Phases of signals that are not a failed call of the load: what the
// server said about itself, the kernel's log, and the availability probe.
const (
	// PhaseServer: the server's own log line, or its end (a launched
	// program that exited during the run).
	PhaseServer Phase = "server"
	// PhaseKernel: a line of the kernel log (/dev/kmsg).
	PhaseKernel Phase = "kernel"
	// PhaseProbe: the availability probe beside the load.
	PhaseProbe Phase = "probe"
)

// Classes of what a real server or the kernel reports: a reply of the
// server (expect rules, phase recv), a line of its log (watch rules, phase
// server), a line of the kernel log (phase kernel) or the availability
// probe (phase probe). They are a fixed set, the same for every server, so
// that runs against different servers and settings group by meaning: a
// rule maps a server's own words to the class that means the same. Code
// is 0 for all of them.
const (
	ClassServerRefused           Class = "server-refused"            // the server answered that it refuses the client (redis "-ERR max number of clients reached", HTTP 503)
	ClassServerBadRequest        Class = "server-bad-request"        // the server did not understand the first word (nginx "client sent invalid method", HTTP 400)
	ClassServerConnLimit         Class = "server-conn-limit"         // the server's own connection limit (tor "Failing because we have N connections already")
	ClassServerWorkerConnections Class = "server-worker-connections" // nginx: worker_connections are not enough
	ClassServerEMFILE            Class = "server-emfile"             // the server's accept()/socket() failed: too many open files
	ClassServerENFILE            Class = "server-enfile"             // the server saw the system's file table full
	ClassServerNoMem             Class = "server-nomem"              // the server ran out of (socket) memory
	ClassServerFDLow             Class = "server-fd-low"             // the server started with fewer descriptors than configured
	ClassServerFDTooLow          Class = "server-fd-too-low"         // the server refused to start: too few descriptors
	ClassServerError             Class = "server-error"              // any other failure a rule names
	ClassServerExited            Class = "server-exited"             // the launched server ended during the run

	ClassKernelSYNFlood      Class = "kernel-syn-flood"      // "Possible SYN flooding on port …"
	ClassKernelTCPOOM        Class = "kernel-tcp-oom"        // "TCP: out of memory"
	ClassKernelOrphans       Class = "kernel-orphans"        // "too many orphaned sockets"
	ClassKernelTWOverflow    Class = "kernel-tw-overflow"    // "time wait bucket table overflow"
	ClassKernelConntrackFull Class = "kernel-conntrack-full" // "nf_conntrack: table full, dropping packet"
	ClassKernelFileMax       Class = "kernel-file-max"       // "VFS: file-max limit N reached"
	ClassKernelNeighOverflow Class = "kernel-neigh-overflow" // "neighbour table overflow"
	ClassKernelOOMKill       Class = "kernel-oom-kill"       // "Out of memory: Killed process"

	// ClassUnavailable: the availability probe failed (connect, send, or
	// its expected reply did not come).
	ClassUnavailable Class = "unavailable"
)

// signalClasses is the stable order of the classes above, after the
// classes of failed calls in Classes.
var signalClasses = [...]Class{
	ClassServerRefused,
	ClassServerBadRequest,
	ClassServerConnLimit,
	ClassServerWorkerConnections,
	ClassServerEMFILE,
	ClassServerENFILE,
	ClassServerNoMem,
	ClassServerFDLow,
	ClassServerFDTooLow,
	ClassServerError,
	ClassServerExited,
	ClassKernelSYNFlood,
	ClassKernelTCPOOM,
	ClassKernelOrphans,
	ClassKernelTWOverflow,
	ClassKernelConntrackFull,
	ClassKernelFileMax,
	ClassKernelNeighOverflow,
	ClassKernelOOMKill,
	ClassUnavailable,
}

// SignalClasses returns the classes of servers, the kernel and the probe,
// in a stable order (a fresh copy). Classes lists them too, last.
func SignalClasses() []Class {
	out := make([]Class, len(signalClasses))
	copy(out, signalClasses[:])
	return out
}

// IsSignalClass reports whether c is one of SignalClasses.
func IsSignalClass(c Class) bool {
	for _, s := range signalClasses {
		if s == c {
			return true
		}
	}
	return false
}

// ClassError is an error that carries its class: a server's reply that
// matched a rule, a log line, the probe. Classify gives its Class (code 0)
// instead of classifying the error it wraps.
type ClassError struct {
	Class Class
	// Detail says what was seen (the reply's first line, the log line).
	Detail string
	// Err is the underlying error, if any.
	Err error
}

func (e *ClassError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %s", e.Class, e.Detail)
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Class, e.Err)
	}
	return string(e.Class)
}

// Unwrap returns the underlying error.
func (e *ClassError) Unwrap() error { return e.Err }
