package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(st *state) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files without running them",
		Long: `Validate decodes each FILE strictly (unknown keys are errors), fills the
defaults and checks every value. Every problem in every file is printed as
FILE:LINE:COL: message. Exit status 0 when all are valid, 2 otherwise.`,
		Example:           "  nobufs validate scenarios.d/*.yaml",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(c *cobra.Command, args []string) error {
			scs, err := loadAll(args)
			if err != nil {
				return err
			}
			for i, sc := range scs {
				fmt.Fprintf(st.stdout, "%s: ok (%s, kind %s)\n", args[i], sc.Name, sc.Kind)
			}
			return nil
		},
	}
}
