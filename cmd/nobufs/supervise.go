package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/nobufs/nobufs/lab"
	"github.com/nobufs/nobufs/workers/program"
)

// A nobufs command runs in two processes: a small supervisor (the process
// the user started) and the worker that does the work, the same binary
// started again with envWorker set. The supervisor forwards signals to the
// worker and waits. The worker tells it, over a pipe (fd 3), where its
// results go and which exit code it chose, just before it exits. When the
// worker dies without having said so — a Go fatal error (which exits 2,
// the code that must only mean bad input), SIGQUIT's goroutine dump, the
// kernel's OOM killer, a thread limit — the supervisor says so, removes the
// lab cells the worker left (they carry its run token), points at the
// results recorded so far, and exits 3.
const (
	envWorker = "NOBUFS_WORKER"    // "3": the status pipe's descriptor
	envToken  = "NOBUFS_RUN_TOKEN" // the worker's run token (lab cells)
	// envNoSupervisor runs a command in one process (debugging, profiling).
	envNoSupervisor = "NOBUFS_NO_SUPERVISOR"
)

// unsupervised are the commands that never start lab cells or loads: they
// run in one process.
var unsupervised = []string{"version", "completion", "help", "__complete", "__completeNoDesc", "-h", "--help", "-v", "--version"}

func wantsSupervisor(args []string) bool {
	if os.Getenv(envWorker) != "" || os.Getenv(envNoSupervisor) != "" || len(args) == 0 {
		return false
	}
	return !slices.Contains(unsupervised, args[0])
}

// signals the supervisor forwards to the worker.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// supervise runs the command in a worker process and returns the exit code.
func supervise(stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "nobufs: cannot find this program to start its worker: %v\n", err)
		return exitInternal
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "nobufs: status pipe: %v\n", err)
		return exitInternal
	}
	token := lab.NewRunToken()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{pw}
	cmd.Env = append(os.Environ(), envWorker+"=3", envToken+"="+token)
	// Its own process group: a terminal's ^C reaches the supervisor only,
	// which forwards it once. Pdeathsig: the worker dies with the thread
	// that started it (this one, locked until the worker is reaped), so a
	// supervisor killed by SIGKILL leaves no worker behind.
	cmd.SysProcAttr = workerAttr()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		fmt.Fprintf(stderr, "nobufs: start the worker: %v\n", err)
		return exitInternal
	}
	pw.Close()
	st := make(chan workerStatus, 1)
	go func() { st <- readStatus(pr) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	var last os.Signal
wait:
	for {
		select {
		case s := <-sigs:
			last = s
			_ = cmd.Process.Signal(s) // by PID: the worker only
		case werr = <-done:
			break wait
		}
	}
	ws := <-st
	pr.Close()
	code, crashed := exitOf(cmd.ProcessState, werr, ws)
	if !crashed {
		return code
	}
	fmt.Fprintf(stderr, "nobufs: the worker process %s\n", describeDeath(cmd.ProcessState, last))
	if lab.Check() == nil {
		removed, _, err := lab.CleanupToken(token)
		for _, r := range removed {
			fmt.Fprintf(stderr, "nobufs: removed %s, which it left\n", r)
		}
		if err != nil {
			fmt.Fprintf(stderr, "nobufs: cleanup: %v\n", err)
		}
	}
	for _, d := range ws.dirs {
		// A launched target has died with the worker (Pdeathsig); what it
		// started may not have, outside a PID namespace of its own.
		reaped, _, err := program.Cleanup(d)
		for _, r := range reaped {
			fmt.Fprintf(stderr, "nobufs: ended the launched target of %s, which it left\n", r)
		}
		if err != nil {
			fmt.Fprintf(stderr, "nobufs: cleanup: %v\n", err)
		}
		fmt.Fprintf(stderr, "nobufs: results so far are in %s; rebuild a run's summary with: nobufs report --rebuild DIR\n", d)
	}
	return exitInternal
}

// workerStatus is what the worker said on the status pipe.
type workerStatus struct {
	code     int
	reported bool
	dirs     []string
}

// readStatus reads the worker's lines: "dir PATH" for each results
// directory it makes, "exit N" just before it exits.
func readStatus(r io.Reader) workerStatus {
	var ws workerStatus
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "dir":
			ws.dirs = append(ws.dirs, v)
		case "exit":
			if n, err := strconv.Atoi(v); err == nil {
				ws.code, ws.reported = n, true
			}
		}
	}
	return ws
}

// exitOf decides the supervisor's exit code: the worker's own when it
// reported one and exited with it; otherwise the worker crashed.
func exitOf(ps *os.ProcessState, werr error, ws workerStatus) (code int, crashed bool) {
	if ps == nil {
		return exitInternal, true
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return exitInternal, true
	}
	if ws.reported && ps.Exited() && ps.ExitCode() == ws.code {
		return ws.code, false
	}
	return exitInternal, true
}

// describeDeath says how the worker ended, for the crash message.
func describeDeath(ps *os.ProcessState, last os.Signal) string {
	if ps == nil {
		return "could not be waited for"
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		s := ws.Signal()
		why := ""
		switch s {
		case syscall.SIGKILL:
			why = " (the kernel's OOM killer, or someone else)"
		case syscall.SIGABRT:
			why = " (out of threads or memory?)"
		}
		return fmt.Sprintf("was killed by signal %d (%v)%s", int(s), s, why)
	}
	if last == syscall.SIGQUIT {
		return fmt.Sprintf("quit on SIGQUIT (its goroutine dump is above), exit status %d", ps.ExitCode())
	}
	return fmt.Sprintf("crashed: exit status %d without a result (a Go fatal error is above)", ps.ExitCode())
}

// statusPipe is the worker's side of the status pipe; nil when not
// supervised. Writes are single lines, each one write.
type statusPipe struct{ f *os.File }

func openStatusPipe() *statusPipe {
	if os.Getenv(envWorker) != "3" {
		return nil
	}
	return &statusPipe{f: os.NewFile(3, "status")}
}

func (p *statusPipe) say(line string) {
	if p == nil {
		return
	}
	_, _ = p.f.Write([]byte(line + "\n"))
}

// dir tells the supervisor a results directory was made.
func (p *statusPipe) dir(d string) { p.say("dir " + d) }

// exit tells the supervisor the exit code, last thing before exiting.
func (p *statusPipe) exit(code int) {
	p.say("exit " + strconv.Itoa(code))
	if p != nil {
		_ = p.f.Close()
	}
}
