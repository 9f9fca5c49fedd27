// Package report holds pure functions over results: the text summary of a
// run, tables and comparisons. Nothing here touches the network.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nobufs/nobufs/schema"
)

// Text writes a short human summary of a run.
func Text(w io.Writer, s *schema.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	name := ""
	if s.Scenario != nil {
		name = s.Scenario.Name
	}
	fmt.Fprintf(tw, "scenario\t%s (%s)\n", name, kindOf(s))
	fmt.Fprintf(tw, "status\t%s, stopped by %s after %s\n", s.Status, stopPhrase(s.StopReason), secs(s.ElapsedSec))
	fmt.Fprintf(tw, "target\t%s %s\n", s.Target.Mode, s.Target.Address)
	fmt.Fprintf(tw, "ops\tissued %d, ok %d, failed %d, aborted %d, dropped %d\n", s.Ops.Issued, s.Ops.OK, s.Ops.Failed, s.Ops.Aborted, s.Ops.Dropped)
	if f := s.TimeToFailure; f != nil {
		fmt.Fprintf(tw, "time to failure\t%s: %s%s, after %s (%s, %s)\n", secs(f.AtSec), f.Class, atOp(f.Op), okBefore(f), f.Phase, codeString(f.Code, f.Name))
	} else {
		fmt.Fprintf(tw, "time to failure\tnone (no error of class %s)\n", failClasses(s))
	}
	for i, e := range s.Errors {
		label := ""
		if i == 0 {
			label = "errors"
		}
		op := ""
		if e.FirstOp > 0 {
			op = fmt.Sprintf(" (op #%d)", e.FirstOp)
		}
		fmt.Fprintf(tw, "%s\t%s/%s %s: %d, first at %s%s\n", label, e.Phase, e.Class, codeString(e.Code, e.Name), e.Count, secs(e.FirstAt), op)
	}
	if l, ok := s.Latency["connect"]; ok && l.Count > 0 {
		fmt.Fprintf(tw, "connect\tp50 %s, p90 %s, p99 %s, max %s (%d)\n", us(l.P50), us(l.P90), us(l.P99), us(l.Max), l.Count)
	}
	if c := s.Cell; c != nil {
		fmt.Fprintf(tw, "cell\t%s: client %s, target %s; set up in %.1f ms\n", c.Name, c.ClientAddr, c.TargetAddr, c.SetupMs)
		for _, side := range []string{"client", "target"} {
			for _, n := range sortedKeys(c.Sysctls[side]) {
				fmt.Fprintf(tw, "\t%s %s = %s\n", side, n, c.Sysctls[side][n])
			}
		}
		if c.Shaping != "" {
			fmt.Fprintf(tw, "\t%s\n", c.Shaping)
		}
		for _, f := range c.Faults {
			res := "injected"
			if f.Error != "" {
				res = "failed: " + f.Error
			}
			fmt.Fprintf(tw, "\tfault %s at %s: %s\n", f.Action, secs(f.AtSec), res)
		}
	}
	fmt.Fprintf(tw, "peak open\t%d connections\n", s.PeakOpen)
	for _, section := range sectionText {
		section(tw, s)
	}
	serverText(tw, s)
	if p := s.Prediction; p != nil {
		if p.Resource == "none" || p.Resource == "unknown" {
			fmt.Fprintf(tw, "predicted\t%s: %s\n", p.Resource, p.Detail)
		} else {
			fmt.Fprintf(tw, "predicted\t%s (%s) %s\n", p.Resource, p.Class, p.Detail)
		}
	}
	for _, u := range s.Unmet {
		fmt.Fprintf(tw, "unmet\t%s\n", u)
	}
	for i, n := range s.Notes {
		label := ""
		if i == 0 {
			label = "notes"
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, n)
	}
	thresholdText(tw, s)
	return tw.Flush()
}

func kindOf(s *schema.Summary) string {
	if s.Scenario == nil {
		return "?"
	}
	return s.Scenario.Kind
}

func failClasses(s *schema.Summary) string {
	if s.Scenario == nil || len(s.Scenario.Failure.Classes) == 0 {
		return "counted as failure"
	}
	return strings.Join(s.Scenario.Failure.Classes, ", ")
}

func codeString(code int, name string) string {
	switch {
	case name != "":
		return fmt.Sprintf("code %d %s", code, name)
	case code != 0:
		return fmt.Sprintf("code %d", code)
	}
	return "no code"
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// secsLabel is secs for a plot's label: about four significant digits
// (15.6s, 1m0.7s, 3.53s, 3.532ms), where the text keeps 10 µs.
func secsLabel(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d >= 10*time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	case d >= 10*time.Millisecond:
		d = d.Round(100 * time.Microsecond)
	default:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

func us(v int64) string { return (time.Duration(v) * time.Microsecond).String() }

// sectionText is the table of per-kind lines of the text summary: each
// writes the lines of its kind's section and nothing when the summary has
// none. A new kind adds its writer in a file of its own and one line here.
var sectionText = []func(tw io.Writer, s *schema.Summary){
	portText,
	churnText,
	halfOpenText,
	deadPeerSectionText,
	udpText,
	slowReaderText,
	holdText,
	orphanChurnText,
	vmText,
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// stopPhrase says what a stop reason means, for "stopped by …".
func stopPhrase(reason string) string {
	switch reason {
	case schema.StopDuration:
		return "stop.duration"
	case schema.StopMaxOps:
		return "stop.max_ops"
	case schema.StopStagesDone:
		return "the end of load.stages"
	case schema.StopInterrupted:
		return "an interrupt"
	case schema.StopThreshold:
		return "a threshold (abort)"
	case schema.StopGuestDied:
		return "the guest's death"
	}
	return reason // failure, error, and whatever a newer version wrote
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// atOp names the failing operation; operation 0 is not known (a summary
// rebuilt from a schema 1 timeline).
func atOp(op uint64) string {
	if op == 0 {
		return ""
	}
	return fmt.Sprintf(" at op #%d", op)
}

// okBefore says what had succeeded by the failure: operations, and
// connections established when more were than completed (a half-open
// connection that completed its handshake is held, not yet ok).
func okBefore(f *schema.Failure) string {
	s := fmt.Sprintf("%d ok", f.OKBefore)
	if f.ConnectedBefore > f.OKBefore {
		s += fmt.Sprintf(" and %d connections established", f.ConnectedBefore)
	}
	return s
}

// thresholdText writes one line per threshold: its verdict and what was
// found.
func thresholdText(tw io.Writer, s *schema.Summary) {
	for i, t := range s.Thresholds {
		label := ""
		if i == 0 {
			label = "thresholds"
		}
		v := strings.ReplaceAll(t.Verdict, "_", " ")
		if t.Aborted {
			v += ", stopped the run"
		}
		fmt.Fprintf(tw, "%s\t%s: %s\n", label, v, t.Detail)
	}
}
