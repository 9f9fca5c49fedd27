package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/record"
	"github.com/nobufs/nobufs/report"
	"github.com/nobufs/nobufs/schema"
)

func newMergeCmd(st *state) *cobra.Command {
	return &cobra.Command{
		Use:   "merge DIR...",
		Short: "Merge the segments of a split run (load.segments, an Indexed Job) into one run",
		Long: `Merge reads DIR/segments/NN/ — the results of each segment of a run split
between processes (load.segments, --segments, or the pods of a Kubernetes
Indexed Job: docs/distributed.md) — and writes the merged run into DIR:
summary.json, timeline.ndjson (the segments' samples aligned per second and
summed) and scenario.yaml (the whole run's). Counts are summed, latency
histograms merged exactly, the time-to-failure is the earliest. A missing or
unfinished segment makes the merged run partial.

Exit status: 0 merged and every segment finished, 1 merged but partial (or
an expectation unmet), 2 not a split run.`,
		Example: `  nobufs merge results/hold-100k/20261201T120000Z
  nobufs merge /results/hold-100k   # after an Indexed Job`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, dirs []string) error {
			code := exitOK
			for i, dir := range dirs {
				if i > 0 {
					fmt.Fprintln(st.stdout)
				}
				sum, err := record.Merge(dir)
				if sum == nil && err != nil {
					return badResults(err)
				}
				if err != nil {
					return &exitError{code: exitInternal, err: err}
				}
				if err := report.Text(st.stdout, sum); err != nil {
					return err
				}
				fmt.Fprintf(st.stdout, "%-17s%s\n", "results", dir)
				if sum.Status != schema.StatusPassed {
					code = max(code, exitFailed)
				}
			}
			if code != exitOK {
				return silentExit(code)
			}
			return nil
		},
	}
}
