package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newRootCmd(st *state) *cobra.Command {
	root := &cobra.Command{
		Use:   "nobufs",
		Short: "Reproduce socket-resource exhaustion (ENOBUFS, port, fd and backlog exhaustion), measured",
		Long: `nobufs drives declarative scenarios against a built-in or real target and
records when and how sockets fail: time-to-failure, and every error by
syscall phase, class and raw code (errno or WSA code).

Results go to results/<scenario>/<UTC timestamp>/: scenario.yaml,
timeline.ndjson (one line a second) and summary.json.`,
		Example: `  nobufs validate scenarios.d/*.yaml
  nobufs run scenarios.d/port-exhaustion.yaml
  nobufs run --out /tmp/res --quiet scenarios.d/maxuserport-5000.yaml
  nobufs target --mode sink --listen 127.0.0.1:9000`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Cobra's own argument and command errors carry no type; an error
	// returned before any command's RunE started is one of them: usage.
	root.PersistentPreRun = func(*cobra.Command, []string) { st.started = true }
	root.SetOut(st.stdout)
	root.SetErr(st.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath())}
	})
	root.AddCommand(
		newRunCmd(st, nil),
		newValidateCmd(st),
		newTargetCmd(st),
		newDoctorCmd(st),
		newSweepCmd(st),
		newLabCmd(st),
		newVersionCmd(st),
		newReportCmd(st),
		newCompareCmd(st),
		newMergeCmd(st),
		newK8sCmd(st),
	)
	return root
}

// execute runs the command line and returns the exit code; errors are
// printed to stderr here, once.
func execute(ctx context.Context, st *state, args []string) int {
	root := newRootCmd(st)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var se silentExit
		if !errors.As(err, &se) {
			msg := err.Error()
			if !st.started {
				err = &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintln(st.stderr, "nobufs: "+strings.ReplaceAll(msg, "\n", "\nnobufs: "))
		}
	}
	return exitCode(err)
}
