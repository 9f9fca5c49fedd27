package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

func newTargetCmd(st *state) *cobra.Command {
	var (
		mode, listen string
		quiet        bool
		every        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "target",
		Short: "Serve a built-in target standalone",
		Long: `Target serves one built-in target mode in its own process, so the target
has its own descriptor budget or runs on another machine. It prints the
address it listens on, then its counters every second, and stops cleanly on
SIGINT or SIGTERM.

Modes: ` + strings.Join(scenarios.TargetModes, ", ") + `.`,
		Example: `  nobufs target --mode sink --listen 127.0.0.1:9000
  nobufs target --mode accept-close --listen 127.0.0.1:0 --quiet`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !slices.Contains(scenarios.TargetModes, mode) {
				return usageError("--mode %q: allowed: %s", mode, strings.Join(scenarios.TargetModes, ", "))
			}
			t, err := workers.ListenTarget(mode, listen)
			if err != nil {
				return &exitError{code: exitInternal, err: fmt.Errorf("listen: %w", err)}
			}
			defer t.Close()
			fmt.Fprintf(st.stdout, "listening %s mode %s\n", t.Addr(), mode)
			tick := time.NewTicker(every)
			defer tick.Stop()
			line := func() {
				acc, errs := t.Stats()
				fmt.Fprintf(st.stdout, "accepted %d active %d", acc, t.Active())
				for _, e := range errs {
					fmt.Fprintf(st.stdout, " %s/%s(%d) %d", e.Phase, e.Class, e.Code, e.Count)
				}
				fmt.Fprintln(st.stdout)
			}
			for {
				select {
				case <-c.Context().Done():
					t.Close()
					line()
					return nil
				case <-tick.C:
					if !quiet {
						line()
					}
				}
			}
		},
	}
	cmd.Flags().StringVar(&mode, "mode", scenarios.TargetSink, "target mode: "+strings.Join(scenarios.TargetModes, ", "))
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the address and the final counters")
	cmd.Flags().DurationVar(&every, "every", time.Second, "how often to print counters")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions(scenarios.TargetModes, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
