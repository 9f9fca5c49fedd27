package main

import (
	"errors"
	"fmt"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// Exit codes, in one place. docs/cli.md lists them.
const (
	exitOK          = 0   // ran, and every expectation was met
	exitFailed      = 1   // ran, and a failure condition the user asked to fail on was met
	exitUsage       = 2   // bad input or usage: nothing ran
	exitInternal    = 3   // internal or environment error
	exitInterrupted = 130 // stopped by SIGINT/SIGTERM (results written)
)

// exitError attaches an exit code to an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// silentExit carries an exit code whose reason was already printed.
type silentExit int

func (e silentExit) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// exitCode maps an error from a command to the process exit code.
func exitCode(err error) int {
	var ee *exitError
	var ps scenarios.Problems
	var se silentExit
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return int(se)
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ps), errors.Is(err, workers.ErrTargetRefused):
		return exitUsage
	}
	return exitInternal
}
