// Package scenarios is the nobufs scenario file format: the types, their
// defaults, a strict decoder and the validator. It is data only: nothing here
// opens a socket or starts a goroutine.
//
// A scenario file is YAML. It is decoded over Default(kind), unknown keys are
// rejected, and every problem is reported at once as FILE:LINE:COL: message.
// docs/scenarios.md documents every field; a test keeps that page and this
// package in step.
package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kinds of scenario.
const (
	// KindPortExhaustion dials short connections as fast as the load allows
	// from a bounded source-port range until the ports run out.
	KindPortExhaustion = "port-exhaustion"
	// KindChurn is P2P-like churn: connections to many addresses, each
	// living a drawn lifetime, exchanging bursts, ending by FIN or RST.
	KindChurn = "churn"
	// KindHalfOpen keeps connects in flight against a target that never
	// completes them.
	KindHalfOpen = "half-open"
)

// Built-in target modes.
const (
	// TargetAcceptClose accepts each connection and closes it at once
	// (the server closes first, so TIME_WAIT sits on the server).
	TargetAcceptClose = "accept-close"
	// TargetSink accepts, reads and discards until the client closes, then
	// closes (the client closes first, so TIME_WAIT sits on the client).
	TargetSink = "sink"
	// TargetEcho accepts and writes back what it reads until the client closes.
	TargetEcho = "echo"
	// TargetChurnPeer is the other end of the churn exchange: it listens on
	// several loopback addresses, reads each framed burst and answers with
	// the number of bytes the burst asked for.
	TargetChurnPeer = "churn-peer"
	// TargetNeverAccept listens with a tiny backlog and never accepts.
	TargetNeverAccept = "never-accept"
)

// TargetModes lists every built-in target mode, in documentation order.
var TargetModes = []string{TargetAcceptClose, TargetSink, TargetEcho, TargetChurnPeer, TargetNeverAccept, TargetNonReader, TargetVanish, TargetUDPSink, TargetStreamer, TargetOrphanPeer}

// Load models.
const (
	// ModelClosed runs a fixed number of workers, each starting its next
	// operation when the previous one ends.
	ModelClosed = "closed"
	// ModelOpen issues arrivals at a rate (with optional ramp stages);
	// an arrival that finds every worker busy is counted as dropped.
	ModelOpen = "open"
)

// Arrival processes of the open model.
const (
	ArrivalConstant = "constant"
	ArrivalPoisson  = "poisson"
)

// Expectations about failure, checked after a run.
const (
	ExpectAny       = "any"
	ExpectRequired  = "required"
	ExpectForbidden = "forbidden"
)

// Port-range methods.
const (
	// PortMethodAuto uses PortMethodOption where the kernel has it, else PortMethodBind.
	PortMethodAuto = "auto"
	// PortMethodOption sets IP_LOCAL_PORT_RANGE (Linux >= 6.3) on each socket.
	PortMethodOption = "option"
	// PortMethodBind binds each socket explicitly to the next port of the range.
	PortMethodBind = "bind"
)

// Who closes a connection first.
const (
	CloseClient = "client"
	CloseServer = "server"
)

// Scenario is one experiment: what load to put on which target, with which
// socket options, until when, and what counts as failure.
type Scenario struct {
	// Name names the scenario; results go under results/<name>/.
	Name string `yaml:"name" json:"name"`
	// Description says what the scenario reproduces.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Kind selects the workload; see Kinds.
	Kind string `yaml:"kind" json:"kind"`

	Target  Target  `yaml:"target" json:"target"`
	Load    Load    `yaml:"load" json:"load"`
	Socket  Socket  `yaml:"socket" json:"socket"`
	Limits  Limits  `yaml:"limits" json:"limits"`
	Stop    Stop    `yaml:"stop" json:"stop"`
	Failure Failure `yaml:"failure" json:"failure"`
	Expect  Expect  `yaml:"expect" json:"expect"`
	// Cell, when set, runs the scenario inside a lab cell (docs/lab.md).
	Cell *Cell `yaml:"cell,omitempty" json:"cell,omitempty"`
	// Wire, when set, is what each connection says first and how its
	// answer is read (see Wire).
	Wire *Wire `yaml:"wire,omitempty" json:"wire,omitempty"`
	// VM, when set, runs the scenario inside a qemu guest (docs/vm.md).
	VM *VM `yaml:"vm,omitempty" json:"vm,omitempty"`

	// PortExhaustion holds the settings of kind port-exhaustion.
	PortExhaustion *PortExhaustion `yaml:"port_exhaustion,omitempty" json:"port_exhaustion,omitempty"`
	// Churn holds the settings of kind churn.
	Churn *Churn `yaml:"churn,omitempty" json:"churn,omitempty"`
	// HalfOpen holds the settings of kind half-open.
	HalfOpen *HalfOpen `yaml:"half_open,omitempty" json:"half_open,omitempty"`
	// DeadPeer holds the settings of kind dead-peer.
	DeadPeer *DeadPeer `yaml:"dead_peer,omitempty" json:"dead_peer,omitempty"`
	// UDPPush holds the settings of kind udp-push.
	UDPPush *UDPPush `yaml:"udp_push,omitempty" json:"udp_push,omitempty"`
	// SlowReader holds the settings of kind slow-reader.
	SlowReader *SlowReader `yaml:"slow_reader,omitempty" json:"slow_reader,omitempty"`
	// Hold holds the settings of kind hold.
	Hold *Hold `yaml:"hold,omitempty" json:"hold,omitempty"`
	// OrphanChurn holds the settings of kind orphan-churn.
	OrphanChurn *OrphanChurn `yaml:"orphan_churn,omitempty" json:"orphan_churn,omitempty"`

	// Thresholds are pass/fail criteria on the run's metrics (thresholds.go).
	Thresholds []Threshold `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
}

// Target says what the load is sent to: a built-in target started for the
// run, or the address of a real one.
type Target struct {
	// Builtin is a built-in target mode (TargetModes). Empty with an empty
	// Address means the kind's default mode.
	Builtin string `yaml:"builtin,omitempty" json:"builtin,omitempty"`
	// Listen is where a built-in target listens (loopback only).
	Listen string `yaml:"listen" json:"listen"`
	// Address is host:port of an external target; exclusive with Builtin.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	// Allow lists CIDRs an external Address may be in besides loopback.
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`

	// Server launches a known server program for the run (ServerNames);
	// Command launches a program of the user's own. Both listen on
	// Listen's address (a lab cell's target side in a cell) and end with
	// the run. See target_program.go.
	Server  string   `yaml:"server,omitempty" json:"server,omitempty"`
	Command *Command `yaml:"command,omitempty" json:"command,omitempty"`
	// Params are the launched program's template parameters.
	Params map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
	// NoFile is the launched program's RLIMIT_NOFILE (0: inherited).
	NoFile uint64 `yaml:"nofile" json:"nofile"`
	// ReadyTimeout bounds the wait for the launched program's port;
	// StopGrace is the time between its SIGTERM and SIGKILL at the end.
	ReadyTimeout Duration `yaml:"ready_timeout" json:"ready_timeout"`
	StopGrace    Duration `yaml:"stop_grace" json:"stop_grace"`
	// Watch says what of the server is watched beside the load.
	Watch Watch `yaml:"watch" json:"watch"`
	// Probe, when set, checks the service's availability beside the load.
	Probe *Probe `yaml:"probe,omitempty" json:"probe,omitempty"`
}

// Load says how operations are issued.
type Load struct {
	// Model is ModelClosed or ModelOpen.
	Model string `yaml:"model" json:"model"`
	// Workers is the number of workers (closed) or the most operations in
	// flight at once (open).
	Workers int `yaml:"workers" json:"workers"`
	// Rate is the open model's starting arrival rate per second.
	Rate float64 `yaml:"rate,omitempty" json:"rate,omitempty"`
	// Arrival is ArrivalConstant or ArrivalPoisson (open model).
	Arrival string `yaml:"arrival" json:"arrival"`
	// Stages ramp the open model's rate; the run ends after the last stage.
	Stages []Stage `yaml:"stages,omitempty" json:"stages,omitempty"`
	// Seed makes random draws repeatable.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Segments runs the scenario as that many worker processes, each
	// with its own descriptor budget and built-in target, doing its
	// share of the work (package segment); their results are merged
	// into one run. 0 or 1: one process.
	Segments int `yaml:"segments,omitempty" json:"segments,omitempty"`
}

// Stage moves the open model's rate linearly to Target over Duration.
type Stage struct {
	Duration Duration `yaml:"duration" json:"duration"`
	Target   float64  `yaml:"target" json:"target"`
}

// Socket holds the socket options set on every client socket.
type Socket struct {
	// ConnectTimeout bounds each connect.
	ConnectTimeout Duration `yaml:"connect_timeout" json:"connect_timeout"`
	// IOTimeout bounds each read and write.
	IOTimeout Duration `yaml:"io_timeout" json:"io_timeout"`
	// NoDelay sets TCP_NODELAY.
	NoDelay bool `yaml:"nodelay" json:"nodelay"`
	// KeepAlive is the TCP keep-alive period; 0 turns keep-alive off.
	KeepAlive Duration `yaml:"keepalive" json:"keepalive"`
	// SndBuf sets SO_SNDBUF in bytes; 0 leaves the kernel's choice.
	SndBuf int `yaml:"sndbuf" json:"sndbuf"`
	// RcvBuf sets SO_RCVBUF in bytes; 0 leaves the kernel's choice.
	RcvBuf int `yaml:"rcvbuf" json:"rcvbuf"`
	// Linger sets SO_LINGER in seconds; -1 leaves it unset, 0 makes close
	// send RST and skip TIME_WAIT.
	Linger int `yaml:"linger" json:"linger"`
	// UserTimeout sets TCP_USER_TIMEOUT (Linux); 0 leaves it unset.
	UserTimeout Duration `yaml:"user_timeout" json:"user_timeout"`
}

// Limits are process resource limits applied before the load starts.
type Limits struct {
	// NoFile sets the soft RLIMIT_NOFILE for the run (the hard limit is
	// left: it must be at least NoFile); 0 leaves it.
	NoFile uint64 `yaml:"nofile" json:"nofile"`
}

// Stop bounds the run. Every run ends by Duration and by MaxOps, whichever
// comes first, or at failure when OnFailure is set.
type Stop struct {
	Duration Duration `yaml:"duration" json:"duration"`
	MaxOps   uint64   `yaml:"max_ops" json:"max_ops"`
	// OnFailure stops the run at the first failure (after AfterFailure).
	OnFailure bool `yaml:"on_failure" json:"on_failure"`
	// AfterFailure keeps the load going this long after the first failure,
	// e.g. to see whether and when ports come back.
	AfterFailure Duration `yaml:"after_failure" json:"after_failure"`
	// Stall records a failure of class stall when no operation ends well
	// and no byte moves for this long; 0 turns the watchdog off.
	Stall Duration `yaml:"stall" json:"stall"`
}

// Failure says which error classes count as failure for time-to-failure.
type Failure struct {
	Classes []string `yaml:"classes" json:"classes"`
}

// Expect is checked after the run; an unmet expectation exits 1.
type Expect struct {
	// Failure is ExpectAny, ExpectRequired or ExpectForbidden.
	Failure string `yaml:"failure" json:"failure"`
	// MaxTTF fails the run when failure came later than this (0: no bound).
	MaxTTF Duration `yaml:"max_ttf" json:"max_ttf"`
	// MinTTF fails the run when failure came sooner than this (0: no bound).
	MinTTF Duration `yaml:"min_ttf" json:"min_ttf"`
}

// PortExhaustion is the port-exhaustion kind: dial, optionally exchange a
// few bytes, close — from a bounded source-port range.
type PortExhaustion struct {
	// SourcePorts is the client's source-port range "LOW-HIGH" (inclusive);
	// empty uses the system's ephemeral range.
	SourcePorts string `yaml:"source_ports,omitempty" json:"source_ports,omitempty"`
	// Method is how the range is imposed: PortMethodAuto, PortMethodOption
	// or PortMethodBind.
	Method string `yaml:"method" json:"method"`
	// CloseFirst is CloseClient (TIME_WAIT on the client) or CloseServer.
	CloseFirst string `yaml:"close_first" json:"close_first"`
	// Exchange is how many bytes the client writes (and, against echo,
	// reads back) before closing; 0 means connect and close.
	Exchange int `yaml:"exchange" json:"exchange"`
}

// PortRange returns the low and high ports of SourcePorts; ok is false when
// SourcePorts is empty or malformed.
func (p *PortExhaustion) PortRange() (lo, hi int, ok bool) {
	if p == nil || p.SourcePorts == "" {
		return 0, 0, false
	}
	return parsePortRange(p.SourcePorts)
}

func parsePortRange(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		return 0, 0, false
	}
	lo, okLo := decimal(strings.TrimSpace(a))
	hi, okHi := decimal(strings.TrimSpace(b))
	if !okLo || !okHi {
		return 0, 0, false
	}
	return lo, hi, true
}

// decimal reads s written as strconv.Itoa writes it: no "+", no leading zeros.
func decimal(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && strconv.Itoa(n) == s
}

// Duration is a time.Duration written as "250ms", "5s", "2m" in files.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as "5s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "5s"; a bare "0" is zero.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration like 500ms, 5s or 2m, got %q", s)
	}
	*d = Duration(v)
	return nil
}
