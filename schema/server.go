package schema

import "github.com/nobufs/nobufs/workers/errclass"

// ProgramInfo describes a target program nobufs launched for the run
// (target.server or target.command): what ran, with which settings, and
// how it ended. It is TargetInfo.Program.
type ProgramInfo struct {
	// Server is the known server's name (tor, nginx…); empty for a command.
	Server string `json:"server,omitempty"`
	// Argv is the command line as started; Version the first line its
	// version command printed.
	Argv    []string `json:"argv"`
	Version string   `json:"version,omitempty"`
	// Params are the template parameters in force (a server's defaults
	// with the scenario's over them); Config names the files written for
	// it, relative to the run directory.
	Params map[string]string `json:"params,omitempty"`
	Config []string          `json:"config,omitempty"`
	// PID is its process ID (in nobufs's PID namespace); PIDNamespace: it
	// was the first process of a PID namespace of its own, so that all
	// its descendants ended with it.
	PID          int  `json:"pid"`
	PIDNamespace bool `json:"pid_namespace"`
	// Netns is the network namespace it ran in ("" = nobufs's own).
	Netns string `json:"netns,omitempty"`
	// NoFile is the RLIMIT_NOFILE it was given (0: inherited) and
	// NoFileMethod how ("exec-stop": before its first instruction);
	// CanRaiseNoFile: it kept CAP_SYS_RESOURCE and could raise it again.
	NoFile         uint64 `json:"nofile,omitempty"`
	NoFileMethod   string `json:"nofile_method,omitempty"`
	CanRaiseNoFile bool   `json:"can_raise_nofile,omitempty"`
	// ReadyMs is the time from its start to its listening socket.
	ReadyMs float64 `json:"ready_ms"`
	// Dir is its run directory, relative to the run's (config, data,
	// output); Stdout and Stderr its captured output, relative likewise.
	Dir    string `json:"dir"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// Exit says how it ended; DuringRun: it ended before the run did.
	Exit *ProgramExit `json:"exit,omitempty"`
	// StopError is what went wrong stopping it, if anything.
	StopError string `json:"stop_error,omitempty"`
}

// ProgramExit is how a launched program ended; DuringRun: before the run
// stopped it (a crash, or a kill from outside).
type ProgramExit struct {
	Code      int    `json:"code"`             // exit code; -1 when ended by a signal
	Signal    string `json:"signal,omitempty"` // the signal's name
	DuringRun bool   `json:"during_run"`
}

// LineCount is one distinct first line of the replies and how many had it.
type LineCount struct {
	Line  string `json:"line"`
	Count uint64 `json:"count"`
}

// ClassCount counts one class.
type ClassCount struct {
	Class errclass.Class `json:"class"`
	Count uint64         `json:"count"`
}

// RepliesReport is what the connections said (scenario.wire) and what the
// server answered: first lines grouped by distinct line, and the classes
// the reply rules gave. It is Summary.Replies.
type RepliesReport struct {
	// Greeting is the known greeting said, if one was.
	Greeting string `json:"greeting,omitempty"`
	// Sent counts payloads sent; Replies the replies read (at least one
	// byte); Empty the reads that got nothing (end of stream, reset or
	// time out before a byte came).
	Sent    uint64 `json:"sent"`
	Replies uint64 `json:"replies"`
	Empty   uint64 `json:"empty"`
	// Lines are the distinct first lines (escaped, cut), most frequent
	// first; OtherLines counts replies whose line did not fit the table.
	Lines      []LineCount `json:"lines"`
	OtherLines uint64      `json:"other_lines,omitempty"`
	// Classes counts the replies each rule class was given.
	Classes []ClassCount `json:"classes,omitempty"`
}

// WatchReport is what was seen of the server beside the load: its process,
// its log, the kernel's log, its listener, the counters of its network
// namespace and the availability probe. It is Summary.Watch.
type WatchReport struct {
	Proc       *ProcReport       `json:"proc,omitempty"`
	Logs       *LogReport        `json:"logs,omitempty"`
	Kernel     *KernelReport     `json:"kernel,omitempty"`
	Listen     *ListenReport     `json:"listen,omitempty"`
	TargetSide *TargetSideReport `json:"target_side,omitempty"`
	Probe      *ProbeReport      `json:"probe,omitempty"`
}

// ProcState is one reading of the watched process and its descendants.
type ProcState struct {
	AtSec float64 `json:"at_sec"`
	// PID, Comm, FDs and NoFile are of the process closest to its
	// descriptor limit (nginx's worker rather than its master).
	PID    int    `json:"pid"`
	Comm   string `json:"comm"`
	FDs    int    `json:"fds"`
	NoFile uint64 `json:"nofile"`
	// TotalFDs, RSS and Threads are summed over the process and its
	// descendants (Procs of them).
	TotalFDs int    `json:"total_fds"`
	RSS      uint64 `json:"rss_bytes"`
	Threads  int    `json:"threads"`
	Procs    int    `json:"procs"`
	// TCP counts the TCP sockets of its network namespace by state.
	TCP map[string]int `json:"tcp,omitempty"`
}

// ProcReport summarises the watched process over the run.
type ProcReport struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Samples int    `json:"samples"`
	// PeakFDs is the most descriptors of its busiest process, at
	// PeakFDsAtSec, against NoFile.
	PeakFDs      int     `json:"peak_fds"`
	PeakFDsAtSec float64 `json:"peak_fds_at_sec"`
	NoFile       uint64  `json:"nofile"`
	PeakRSS      uint64  `json:"peak_rss_bytes"`
	PeakThreads  int     `json:"peak_threads"`
	// PeakTCP is each TCP state's most sockets at one sample.
	PeakTCP map[string]int `json:"peak_tcp,omitempty"`
	// AtFailure is a reading taken the moment the run's failure was
	// recorded; Last the last reading.
	AtFailure *ProcState `json:"at_failure,omitempty"`
	Last      *ProcState `json:"last,omitempty"`
	// Gone says the process ended (or could not be read) during the run.
	Gone string `json:"gone,omitempty"`
}

// LogMatch is one class of log lines: how many, the first, and when.
type LogMatch struct {
	Class      errclass.Class `json:"class"`
	Count      uint64         `json:"count"`
	FirstAtSec float64        `json:"first_at_sec"`
	FirstLine  string         `json:"first_line"`
}

// LogReport is what the watched log said: the launched program's output
// and target.watch.log.
type LogReport struct {
	Sources []string   `json:"sources"`
	Lines   uint64     `json:"lines"`
	Matches []LogMatch `json:"matches"`
}

// KernelReport is what the kernel log (/dev/kmsg) said during the run.
type KernelReport struct {
	// Unavailable says why the kernel log could not be read ("" when it was).
	Unavailable string     `json:"unavailable,omitempty"`
	Matches     []LogMatch `json:"matches,omitempty"`
	// Missed counts records the kernel overwrote before they were read.
	Missed uint64 `json:"missed,omitempty"`
}

// ListenReport is the target's listening socket, read with sock_diag in
// its namespace: the accept queue against the backlog.
type ListenReport struct {
	Addr    string `json:"addr"`
	Backlog uint32 `json:"backlog"`
	// PeakQueue is the most connections waiting for accept at one sample.
	PeakQueue      uint32  `json:"peak_queue"`
	PeakQueueAtSec float64 `json:"peak_queue_at_sec"`
	// FullSamples counts samples with the queue full (above the backlog).
	FullSamples int `json:"full_samples"`
	Samples     int `json:"samples"`
}

// TargetSideReport is the kernel's state in the server's network
// namespace (a lab cell's target side, or this host's): its counters'
// increase over the run and its TCP sockets by state at their most.
type TargetSideReport struct {
	// Netns names the namespace ("" = nobufs's own).
	Netns string `json:"netns,omitempty"`
	// Counters are the increases of the netstat/snmp counters that moved
	// (hoststate.Counters), summed over the run.
	Counters map[string]uint64 `json:"counters,omitempty"`
	// PeakTCP is each TCP state's most sockets at one sample (syn_recv
	// counts the SYN queue's request sockets).
	PeakTCP map[string]int `json:"peak_tcp,omitempty"`
	// PeakTCPMemPages is the most memory TCP sockets held at one sample
	// (/proc/net/sockstat "mem", in pages): the kernel's count over every
	// namespace (tcp_mem is host-global), not the server's alone.
	PeakTCPMemPages int `json:"peak_tcp_mem_pages,omitempty"`
}

// ProbeReport summarises the availability probe: every interval one fresh
// connection (with the scenario's payload and expect), beside the load.
type ProbeReport struct {
	EverySec float64 `json:"every_sec"`
	Probes   uint64  `json:"probes"`
	OK       uint64  `json:"ok"`
	Failed   uint64  `json:"failed"`
	// Latency is of the probes that succeeded: connect to reply.
	Latency Latency `json:"latency"`
	// Outcomes counts the probes by how they ended: "ok" or the class of
	// their failure.
	Outcomes []ClassCount `json:"outcomes"`
	// FirstFailureAtSec is the first failed probe; UnavailableFromSec is
	// set when the service stayed unavailable from then to the end.
	FirstFailureAtSec  *float64 `json:"first_failure_at_sec,omitempty"`
	UnavailableFromSec *float64 `json:"unavailable_from_sec,omitempty"`
	// Outages are the runs of failed probes (at most 100).
	Outages []Outage `json:"outages,omitempty"`
	// Lines are the probes' reply first lines.
	Lines []LineCount `json:"lines,omitempty"`
}

// Outage is a run of failed probes: from the first failure to the next
// success (ToSec nil: to the end of the run).
type Outage struct {
	FromSec float64  `json:"from_sec"`
	ToSec   *float64 `json:"to_sec,omitempty"`
	Probes  int      `json:"probes"`
}

// WatchSample is one timeline sample's view of the server (its "watch"
// field): the latest reading of each watcher, and what happened in the
// interval.
type WatchSample struct {
	Proc *ProcState `json:"proc,omitempty"`
	// Logs are the log classes that matched in the interval (Count: this
	// interval's), with their first line.
	Logs []LogMatch `json:"logs,omitempty"`
	// Kernel are the kernel-log classes that matched in the interval.
	Kernel []LogMatch   `json:"kernel,omitempty"`
	Listen *ListenState `json:"listen,omitempty"`
	// TargetSide is the server namespace's TCP states and counter deltas.
	TargetSide *TargetSideState `json:"target_side,omitempty"`
	Probe      *ProbeSample     `json:"probe,omitempty"`
	// Exited is set on the sample where the launched program was seen ended.
	Exited *ProgramExit `json:"exited,omitempty"`
}

// ListenState is a listener's accept queue at one sample.
type ListenState struct {
	Addr    string `json:"addr"`
	Queue   uint32 `json:"queue"`
	Backlog uint32 `json:"backlog"`
}

// TargetSideState is the server namespace's kernel state at one sample.
type TargetSideState struct {
	TCP         map[string]int    `json:"tcp,omitempty"`
	Counters    map[string]uint64 `json:"counters,omitempty"`
	TCPMemPages int               `json:"tcp_mem_pages,omitempty"`
}

// ProbeSample is what the probe saw in one interval.
type ProbeSample struct {
	Probes uint64 `json:"probes"`
	OK     uint64 `json:"ok"`
	Failed uint64 `json:"failed"`
	// Last is the last probe of the interval: its outcome ("ok" or a
	// class), latency and first line.
	LastOutcome   string  `json:"last_outcome"`
	LastLatencyUs float64 `json:"last_latency_us"`
	LastLine      string  `json:"last_line,omitempty"`
}
