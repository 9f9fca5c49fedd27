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

	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(Main()) }

// Main runs the command line and returns the exit code. The first SIGINT or
// SIGTERM cancels the run (which then writes its summary); a second one
// exits at once.
func Main() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "nobufs: second interrupt, exiting at once")
		os.Exit(exitInterrupted)
	}()
	st := &state{
		stdout: os.Stdout,
		stderr: os.Stderr,
		tty:    term.IsTerminal(int(os.Stdout.Fd())),
	}
	if st.tty {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			st.width = w
		}
	}
	return execute(ctx, st, os.Args[1:])
}

// state is what commands may touch of the outside world; tests swap it.
type state struct {
	stdout, stderr io.Writer
	tty            bool
	// width is the terminal's width in columns, 0 when unknown.
	width int
	// started is set once a command's own code runs (see newRootCmd).
	started bool
}
