// Command nobufs is a load generator and reproduction harness for
// socket-resource exhaustion: "No buffer space available" (ENOBUFS), used-up
// ephemeral ports, descriptors and backlogs. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nobufs/nobufs/lab"
	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(Main()) }

// Main runs the command line and returns the exit code. On Linux it first
// starts the command in a worker process and supervises it (supervise.go);
// the worker runs it here. The first SIGINT, SIGTERM or SIGHUP cancels
// the run (which then writes its summary); a second one exits at once.
func Main() int {
	guestHook() // as a VM guest's /init, it never returns
	if err := fdFloor(); err != nil {
		fmt.Fprintln(os.Stderr, "nobufs:", err)
		return exitInternal
	}
	if supervised && wantsSupervisor(os.Args[1:]) {
		return supervise(os.Stderr)
	}
	status := openStatusPipe()
	if t := os.Getenv(envToken); t != "" {
		if err := lab.SetRunToken(t); err != nil {
			fmt.Fprintln(os.Stderr, "nobufs:", err)
			status.exit(exitInternal)
			return exitInternal
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "nobufs: second interrupt, exiting at once")
		status.exit(exitInterrupted)
		os.Exit(exitInterrupted)
	}()
	st := &state{
		stdout: os.Stdout,
		stderr: os.Stderr,
		tty:    term.IsTerminal(int(os.Stdout.Fd())),
		status: status,
	}
	if st.tty {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			st.width = w
		}
	}
	code := execute(ctx, st, os.Args[1:])
	status.exit(code)
	return code
}

// state is what commands may touch of the outside world; tests swap it.
type state struct {
	stdout, stderr io.Writer
	tty            bool
	// width is the terminal's width in columns, 0 when unknown.
	width int
	// started is set once a command's own code runs (see newRootCmd).
	started bool
	// status tells a supervisor where results go (nil: unsupervised).
	status *statusPipe
}
