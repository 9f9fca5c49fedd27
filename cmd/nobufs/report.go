package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/report"
)

func newReportCmd(st *state) *cobra.Command {
	var rebuild, force bool
	cmd := &cobra.Command{
		Use:   "report DIR...",
		Short: "Print the summary of recorded runs, or rebuild a lost one",
		Long: `Report prints the summary of each run directory (results/<scenario>/<time>).

With --rebuild it rebuilds summary.json from timeline.ndjson for a run that
died before writing it (SIGKILL, crash, power loss): counts are exact up to
the last complete sample, first occurrences are known to the sample interval,
and the status is "partial" unless the timeline's end line was written.`,
		Example: `  nobufs report results/port-exhaustion/20261122T024546Z
  nobufs report --rebuild results/p2p-churn/20261122T030000Z`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, dirs []string) error {
			for i, dir := range dirs {
				if i > 0 {
					fmt.Fprintln(st.stdout)
				}
				if rebuild {
					if err := rebuildOne(st, dir, force); err != nil {
						return err
					}
					continue
				}
				sum, err := record.ReadSummary(dir)
				if err != nil {
					return badResults(err)
				}
				if err := report.Text(st.stdout, sum); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "rebuild summary.json from timeline.ndjson")
	cmd.Flags().BoolVar(&force, "force", false, "with --rebuild, overwrite an existing summary.json")
	return cmd
}

func rebuildOne(st *state, dir string, force bool) error {
	if _, err := os.Stat(filepath.Join(dir, record.SummaryFile)); err == nil && !force {
		return usageError("%s already has %s; pass --force to replace it with one rebuilt from the timeline", dir, record.SummaryFile)
	}
	sum, err := record.Rebuild(dir)
	if err != nil {
		return badResults(err)
	}
	// Printed first: a directory that cannot be written (read-only, full)
	// still shows what was rebuilt.
	if err := report.Text(st.stdout, sum); err != nil {
		return err
	}
	if err := record.WriteSummaryFile(dir, sum); err != nil {
		return &exitError{code: exitInternal, err: fmt.Errorf("%s: the rebuilt summary above was not saved: %w", dir, err)}
	}
	fmt.Fprintf(st.stdout, "%-17s%s\n", "rebuilt", filepath.Join(dir, record.SummaryFile))
	return nil
}

// badResults marks unreadable or foreign results as bad input (exit 2).
func badResults(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return &exitError{code: exitInternal, err: err}
	}
	return &exitError{code: exitUsage, err: err}
}
