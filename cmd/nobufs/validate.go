package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/sweep"
	"github.com/nobufs/nobufs/workers"
)

func newValidateCmd(st *state) *cobra.Command {
	var allow []string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them",
		Long: `Validate decodes each FILE strictly (unknown keys are errors), fills the
defaults and checks every value. Every problem in every file is printed as
FILE:LINE:COL: message. A sweep file (one ending in .sweep.yaml, or with
an axes key) is checked as a sweep (docs/lab.md), with the scenario of each
of its points. What run and sweep would refuse, validate refuses too: a
target.address outside loopback, --allow-target and the scenario's
target.allow. Exit status 0 when all are valid, 2 otherwise.`,
		Example:           "  nobufs validate scenarios.d/*.yaml",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(c *cobra.Command, args []string) error {
			prefixes, err := parseAllow(allow)
			if err != nil {
				return err
			}
			// Sweep files are checked as sweeps: the file and the scenario
			// of every point.
			var files, sweeps []string
			for _, a := range args {
				if strings.HasSuffix(a, ".sweep.yaml") || strings.HasSuffix(a, ".sweep.yml") || scenarios.LooksLikeSweep(a) {
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
				for _, p := range pts {
					if err := checkTarget(p.Scenario, prefixes); err != nil {
						return fmt.Errorf("%s: point %d (%s): %w", f, p.Index, strings.Join(p.Values, ", "), err)
					}
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
				if err := checkTarget(sc, prefixes); err != nil {
					return fmt.Errorf("%s: %w", files[i], err)
				}
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
	cmd.Flags().StringSliceVar(&allow, "allow-target", nil, "allow external targets in this CIDR (repeatable), as run and sweep do")
	return cmd
}

// checkTarget refuses what a run of sc would refuse before it starts: an
// external target outside loopback and the allowed prefixes. run,
// validate and sweep all ask it, so they agree.
func checkTarget(sc *scenarios.Scenario, allow []netip.Prefix) error {
	if sc.Target.Address == "" {
		return nil
	}
	return workers.CheckTarget(sc.Target.Address, sc.Target.Allow, allow)
}
