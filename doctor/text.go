package doctor

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nobufs/nobufs/schema"
)

// Report is what `nobufs doctor` prints, and its --json form.
type Report struct {
	Checks []Check `json:"checks"`
	// Unreadable names what could not be read.
	Unreadable []string `json:"unreadable,omitempty"`
	// Scenario and Prediction are set when a scenario was given.
	Scenario   string             `json:"scenario,omitempty"`
	Prediction *schema.Prediction `json:"prediction,omitempty"`
}

// Text writes the report as a table: each check's level, name, value,
// why, and the setting that would change it.
func Text(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Level, c.Name, c.Value)
		fmt.Fprintf(tw, "\t\t%s\n", c.Why)
		fmt.Fprintf(tw, "\t\tchange: %s\n", c.Setting)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, u := range r.Unreadable {
		fmt.Fprintf(w, "not read: %s\n", u)
	}
	if p := r.Prediction; p != nil {
		fmt.Fprintf(w, "\nscenario %s: fails first on %s", r.Scenario, PredictionLine(p))
		fmt.Fprintln(w)
		for _, l := range p.Limits {
			fmt.Fprintf(w, "  %-8s %s\n", l.Resource+":", l.Detail)
		}
	}
	return nil
}

// PredictionLine is a one-line form of a prediction.
func PredictionLine(p *schema.Prediction) string {
	if p.Resource == ResNone || p.Resource == ResUnknown {
		return p.Resource + " (" + p.Detail + ")"
	}
	return fmt.Sprintf("%s, %s: %s", p.Resource, p.Class, p.Detail)
}
