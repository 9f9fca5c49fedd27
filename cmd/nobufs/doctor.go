package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/doctor"
)

func newDoctorCmd(st *state) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor [FILE]",
		Short: "Check this host for the causes of socket exhaustion; predict where a scenario fails first",
		Long: `Doctor reads this host's settings and counters (it writes nothing and
needs no privileges) and judges each against the known causes of socket
exhaustion: accept backlog, socket buffer limits, descriptor limits,
memory pressure and OOM kills, TCP/UDP memory, interface and input-queue
drops, the ephemeral port range and TIME_WAIT. Each check prints its
value, ok/warn/risk/unknown, why, and the setting that would change it.

Given a scenario FILE, it also predicts which resource the scenario
exhausts first (ports, fds, backlog, memory) and after how many
operations; 'nobufs run' records the same prediction in summary.json.

Exit status: 0 (risks are information), 2 bad input.`,
		Example: `  nobufs doctor
  nobufs doctor scenarios.d/port-exhaustion.yaml
  nobufs doctor --json scenarios.d/maxuserport-5000.yaml`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: yamlFiles,
		RunE: func(_ *cobra.Command, args []string) error {
			r := &doctor.Report{}
			h := doctor.ReadHost(doctor.Default())
			r.Checks, r.Unreadable = doctor.Checks(h), h.Unreadable
			if len(args) == 1 {
				scs, err := loadAll(args)
				if err != nil {
					return err
				}
				p := doctor.Predict(scs[0], h)
				r.Scenario, r.Prediction = scs[0].Name, &p
			}
			if asJSON {
				enc := json.NewEncoder(st.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return doctor.Text(st.stdout, r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
