package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/sweep"
)

func newValidateCmd(st *state) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them",
		Long: `Validate decodes each FILE strictly (unknown keys are errors), fills the
defaults and checks every value. Every problem in every file is printed as
FILE:LINE:COL: message. A FILE ending in .sweep.yaml is checked as a sweep
(docs/lab.md), with the scenario of each of its points. Exit status 0 when
all are valid, 2 otherwise.`,
		Example:           "  nobufs validate scenarios.d/*.yaml",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(c *cobra.Command, args []string) error {
			// Sweep files (*.sweep.yaml) are checked as sweeps: the file and
			// the scenario of every point.
			var files, sweeps []string
			for _, a := range args {
				if strings.HasSuffix(a, ".sweep.yaml") || strings.HasSuffix(a, ".sweep.yml") {
					sweeps = append(sweeps, a)
				} else {
					files = append(files, a)
				}
			}
			var all scenarios.Problems
			var lines []string
			for _, f := range sweeps {
				sw, pts, err := sweep.Load(f)
				var ps scenarios.Problems
				if errors.As(err, &ps) {
					all = append(all, ps...)
					continue
				} else if err != nil {
					return err
				}
				lines = append(lines, fmt.Sprintf("%s: ok (sweep %s, %d points × %d repetitions)", f, sw.Name, len(pts), sw.Repetitions))
			}
			scs, err := loadAll(files)
			var ps scenarios.Problems
			if errors.As(err, &ps) {
				all = append(all, ps...)
			} else if err != nil {
				return err
			}
			if len(all) > 0 {
				return all
			}
			for i, sc := range scs {
				fmt.Fprintf(st.stdout, "%s: ok (%s, kind %s)\n", files[i], sc.Name, sc.Kind)
			}
			for _, l := range lines {
				fmt.Fprintln(st.stdout, l)
			}
			return nil
		},
	}
}
