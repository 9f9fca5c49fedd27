package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nobufs/nobufs/schema"
)

// SweepTable prints a sweep summary as a table: one row per point, its
// axis values against time-to-failure (median, min, max over the
// repetitions), the failure and the operations before it.
func SweepTable(w io.Writer, s *schema.SweepSummary) error {
	fmt.Fprintf(w, "sweep %s: %d points × %d repetitions\n", s.Name, len(s.Points), s.Repetitions)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := append(slices.Clone(s.Axes), "failed", "ttf median", "min", "max", "failure", "ops before (median)")
	for _, c := range s.Columns {
		hdr = append(hdr, c+" median [min–max]")
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t"))
	for _, p := range s.Points {
		row := slices.Clone(p.Values)
		failed := fmt.Sprintf("%d/%d", p.Failures, p.Runs)
		if p.Interrupted > 0 {
			failed += fmt.Sprintf(" (+%d interrupted)", p.Interrupted)
		}
		row = append(row, failed)
		switch {
		case p.TTF == nil && p.Runs == 0:
			row = append(row, "not finished", "-", "-", "-", "-")
		case p.TTF != nil:
			row = append(row, secs(p.TTF.Median), secs(p.TTF.Min), secs(p.TTF.Max),
				fmt.Sprintf("%s (%s %s)", p.Class, p.Phase, codeString(p.Code, "")), strconv.FormatFloat(p.OpsBefore.Median, 'f', -1, 64))
		default:
			row = append(row, "none", "-", "-", "-", "-")
		}
		for _, c := range p.Columns {
			if c.Stat == nil {
				row = append(row, "-")
				continue
			}
			row = append(row, fmt.Sprintf("%s [%s–%s]", num(c.Median), num(c.Min), num(c.Max)))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// SweepCSV writes a sweep summary as CSV, one row per point.
func SweepCSV(w io.Writer, s *schema.SweepSummary) error {
	cw := csv.NewWriter(w)
	hdr := append(slices.Clone(s.Axes), "runs", "failures", "interrupted", "ttf_median_sec", "ttf_min_sec", "ttf_max_sec",
		"class", "phase", "code", "ops_before_median", "ops_before_min", "ops_before_max")
	for _, c := range s.Columns {
		hdr = append(hdr, c+"_median", c+"_min", c+"_max")
	}
	if err := cw.Write(hdr); err != nil {
		return err
	}
	// Seconds to the microsecond, as the summaries measure them.
	f := func(x float64) string { return strconv.FormatFloat(math.Round(x*1e6)/1e6, 'f', -1, 64) }
	for _, p := range s.Points {
		row := slices.Clone(p.Values)
		row = append(row, strconv.Itoa(p.Runs), strconv.Itoa(p.Failures), strconv.Itoa(p.Interrupted))
		if p.TTF != nil {
			row = append(row, f(p.TTF.Median), f(p.TTF.Min), f(p.TTF.Max), p.Class, p.Phase, strconv.Itoa(p.Code),
				f(p.OpsBefore.Median), f(p.OpsBefore.Min), f(p.OpsBefore.Max))
		} else {
			row = append(row, "", "", "", "", "", "", "", "", "")
		}
		for _, c := range p.Columns {
			if c.Stat == nil {
				row = append(row, "", "", "")
				continue
			}
			row = append(row, num(c.Median), num(c.Min), num(c.Max))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// num prints a column value: integers as such, others to 3 decimals.
func num(x float64) string {
	return strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64)
}
