package sut

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Info describes a started program, for a run's summary.
type Info struct {
	Argv []string `json:"argv"`
	// PID and StartTime (clock ticks after boot, /proc/PID/stat field 22)
	// name the process; the pair survives PID reuse.
	PID       int       `json:"pid"`
	StartTime uint64    `json:"start_time"`
	Started   time.Time `json:"started"`
	// Ready is the time from the start to ReadyAddr listening (accepting,
	// with ReadyConnect).
	Ready     time.Duration `json:"ready_ns"`
	Addr      string        `json:"addr,omitempty"`
	ReadyAddr string        `json:"ready_addr,omitempty"`
	// Netns is the network namespace path it runs in ("" = nobufs's own).
	Netns string `json:"netns,omitempty"`
	// NoFile is the RLIMIT_NOFILE it was given (0: inherited), and
	// NoFileMethod how: "exec-stop" (set while the program was stopped at
	// its first instruction) or "after-start" (prlimit after exec; racy,
	// used only where ptrace is refused).
	NoFile       uint64 `json:"nofile,omitempty"`
	NoFileMethod string `json:"nofile_method,omitempty"`
	// CanRaiseNoFile: the program kept CAP_SYS_RESOURCE (nobufs could not
	// drop it) and may raise its own limit again; redis and haproxy try.
	CanRaiseNoFile bool `json:"can_raise_nofile,omitempty"`
	// PIDNamespace: it is the first process of its own PID namespace.
	PIDNamespace bool   `json:"pid_namespace"`
	Version      string `json:"version,omitempty"`
	RunDir       string `json:"run_dir"`
	Stdout       string `json:"stdout"`
	Stderr       string `json:"stderr"`
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code   int    `json:"code"`             // exit code; -1 when ended by a signal
	Signal string `json:"signal,omitempty"` // the signal's name when ended by one
}

func (s ExitStatus) String() string {
	if s.Signal != "" {
		return "killed by " + s.Signal
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

func exitStatusOf(ps *os.ProcessState) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1}
	}
	st := ExitStatus{Code: ps.ExitCode()}
	if sig, ok := signalOf(ps); ok {
		st.Signal = sig
	}
	return st
}

// ExitError: the program ended before it was ready. Tail is its last
// output lines (both streams, in arrival order).
type ExitError struct {
	Argv   []string
	Status ExitStatus
	Tail   []string
}

func (e *ExitError) Error() string {
	last := ""
	if len(e.Tail) > 0 {
		last = ": " + e.Tail[len(e.Tail)-1]
	}
	return fmt.Sprintf("sut: %s ended before it was ready (%s)%s", e.Argv[0], e.Status, last)
}

// Proc is a started program. Stop ends it; it also ends when the Start
// context ends.
type Proc struct {
	info Info
	cmd  *exec.Cmd

	exited chan struct{} // closed when the process has ended and is reaped
	status ExitStatus    // valid after exited

	tail    *tail
	readers sync.WaitGroup
	pipes   []*os.File // read ends

	stopReq  chan time.Duration
	finished chan struct{} // closed when the stop sequence is over
	stopErr  error
}

// Info describes the program.
func (p *Proc) Info() Info { return p.info }

// PID is the program's process ID (in nobufs's PID namespace).
func (p *Proc) PID() int { return p.info.PID }

// Exited is closed when the program has ended.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Exit returns how the program ended; false while it runs.
func (p *Proc) Exit() (ExitStatus, bool) {
	select {
	case <-p.exited:
		return p.status, true
	default:
		return ExitStatus{}, false
	}
}

// Tail returns the last output lines.
func (p *Proc) Tail() []string { return p.tail.lines() }

// Stop ends the program: SIGTERM, then SIGKILL after grace, then waits for
// it; then ends any descendant still there (children of the recorded PID,
// found in /proc, matched by start time). It waits for the output to be
// read and removes the record file. Safe to call more than once and
// concurrently; each call returns the first one's result.
func (p *Proc) Stop(grace time.Duration) error {
	select {
	case p.stopReq <- grace:
	case <-p.finished:
	}
	<-p.finished
	return p.stopErr
}

// supervise runs the stop sequence once: on Stop, on the end of ctx, or
// when the program ends by itself (then only the clean-up).
func (p *Proc) supervise(ctx context.Context, grace time.Duration) {
	defer close(p.finished)
	select {
	case g := <-p.stopReq:
		grace = g
	case <-ctx.Done():
	case <-p.exited:
		grace = 0
	}
	p.stopErr = p.stop(grace)
}

// tail keeps the last n lines.
type tail struct {
	mu  sync.Mutex
	n   int
	buf []string
}

func (t *tail) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == t.n {
		copy(t.buf, t.buf[1:])
		t.buf = t.buf[:t.n-1]
	}
	t.buf = append(t.buf, s)
}

func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.buf...)
}

// maxLine bounds one output line; the rest of a longer line is dropped.
const maxLine = 64 << 10

// capture copies one stream to its file and hands out its lines.
func (p *Proc) capture(stream string, r io.Reader, file *os.File, onLine func(Line)) {
	defer p.readers.Done()
	defer file.Close()
	br := bufio.NewReaderSize(r, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			_, _ = file.Write(b)
			long := errors.Is(err, bufio.ErrBufferFull)
			text := strings.TrimRight(string(b), "\r\n")
			p.tail.add(text)
			if onLine != nil {
				onLine(Line{Stream: stream, Text: text, Time: time.Now()})
			}
			if long {
				// Drop the rest of the line, bounded by the stream itself.
				for errors.Is(err, bufio.ErrBufferFull) {
					b, err = br.ReadSlice('\n')
					_, _ = file.Write(b)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// waitReaders waits for the capture goroutines; after d it closes the
// pipes (a descendant that escaped may hold them open) and waits again.
func (p *Proc) waitReaders(d time.Duration) {
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		for _, f := range p.pipes {
			_ = f.Close()
		}
		<-done
	}
	for _, f := range p.pipes {
		_ = f.Close()
	}
}

// Version runs argv and returns the first non-empty line of its output
// (stdout and stderr: nginx prints its version on stderr), within 5 s.
func Version(ctx context.Context, argv []string) (string, error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("%w: VersionArgv is empty", ErrSpec)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("sut: version: %w", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l, nil
		}
	}
	return "", fmt.Errorf("sut: version: %s printed nothing", argv[0])
}
