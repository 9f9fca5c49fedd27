package report

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/report/stats"
	"github.com/nobufs/nobufs/schema"
)

// runsWith are n runs whose connect p99 is p99 µs (and p50 p99/4), failing
// at ttf seconds (0: surviving their 30 s).
func runsWith(ttfs []float64, p99 []int64) []*schema.Summary {
	var out []*schema.Summary
	for i, t := range ttfs {
		s := syntheticRun("cmp", t, 20)
		l := s.Latency["connect"]
		l.P99, l.P50 = p99[i], p99[i]/4
		s.Latency["connect"] = l
		out = append(out, s)
	}
	return out
}

func row(t *testing.T, c *Comparison, group int, metric string) CompareRow {
	t.Helper()
	for _, r := range c.Groups[group].Rows {
		if r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %s in group %d", metric, group)
	return CompareRow{}
}

// TestCompareIdentical: the same runs on both sides are no regression.
func TestCompareIdentical(t *testing.T) {
	rs := runsWith([]float64{1, 2, 3, 4, 5}, []int64{100, 110, 120, 130, 140})
	c, err := Compare(CompareSide{Label: "a", Runs: rs}, CompareSide{Label: "b", Runs: rs}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Groups[0].Rows {
		if r.Verdict != stats.NoChange {
			t.Errorf("%s: verdict %v (p %v), want no significant change", r.Metric, r.Verdict, r.P)
		}
	}
	if reg := c.Regressions([]string{"any"}); len(reg) != 0 {
		t.Errorf("regressions %v", reg)
	}
}

// TestCompareShift: a clear shift of connect p99 (5 runs a side, no
// overlap) is flagged worse, and a regression for --fail-on connect.p99
// and any, not for ttf.
func TestCompareShift(t *testing.T) {
	base := runsWith([]float64{1, 2, 3, 4, 5}, []int64{100, 110, 120, 130, 140})
	next := runsWith([]float64{1, 2, 3, 4, 5}, []int64{300, 310, 320, 330, 340})
	c, err := Compare(CompareSide{Runs: base}, CompareSide{Runs: next}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, c, 0, "connect.p99")
	if r.Verdict != stats.Worse {
		t.Errorf("connect.p99 verdict %v, want worse", r.Verdict)
	}
	// Exact two-sided p of complete separation at 5 vs 5: 2/C(10,5).
	if want := 2.0 / 252; math.Abs(r.P-want) > 1e-12 {
		t.Errorf("p = %v, want %v", r.P, want)
	}
	if !strings.Contains(r.Change, "shift +200µs [+") {
		t.Errorf("change %q, want the Hodges–Lehmann shift +200µs with its interval", r.Change)
	}
	for _, tt := range []struct {
		failOn []string
		want   int
	}{{[]string{"connect.p99"}, 1}, {[]string{"any"}, 2}, {[]string{"ttf"}, 0}, {nil, 0}} {
		if got := len(c.Regressions(tt.failOn)); got != tt.want {
			t.Errorf("Regressions(%v) = %d, want %d", tt.failOn, got, tt.want)
		}
	}
}

// TestCompareTooFew: with 3 runs a side nothing can be decided, and the
// row says how small p could get.
func TestCompareTooFew(t *testing.T) {
	base := runsWith([]float64{1, 2, 3}, []int64{100, 110, 120})
	next := runsWith([]float64{1, 2, 3}, []int64{300, 310, 320})
	c, err := Compare(CompareSide{Runs: base}, CompareSide{Runs: next}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, c, 0, "connect.p99")
	if r.Verdict != stats.TooFewSamples || !strings.Contains(r.Note, "smallest possible p is 0.1") {
		t.Errorf("verdict %v, note %q; want too few samples, smallest p 0.1", r.Verdict, r.Note)
	}
}

// TestCompareCensored: the worked example of report/stats
// (Example_timeToFailure, R survdiff): BASE fails at 120, 95, 300, 210 and
// one run survives its 600 s; NEW fails once (480) and survives four
// times. NEW fails later: χ² = 4.62, p = 0.032, 1 failure where 3.23
// were expected.
func TestCompareCensored(t *testing.T) {
	mk := func(ts []float64, failed []bool) []*schema.Summary {
		var out []*schema.Summary
		for i, x := range ts {
			r := syntheticRun("cmp", 0, 20)
			r.ElapsedSec = x
			if failed[i] {
				r = syntheticRun("cmp", x, 20)
			}
			out = append(out, r)
		}
		return out
	}
	base := mk([]float64{120, 95, 300, 600, 210}, []bool{true, true, true, false, true})
	next := mk([]float64{600, 600, 480, 600, 600}, []bool{false, false, true, false, false})
	c, err := Compare(CompareSide{Runs: base}, CompareSide{Runs: next}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, c, 0, "ttf")
	if r.Verdict != stats.Better {
		t.Errorf("ttf verdict %v, want better", r.Verdict)
	}
	if math.Abs(r.P-0.0316) > 0.0005 {
		t.Errorf("log-rank p = %v, want 0.032", r.P)
	}
	if r.Change != "later: NEW failed 1, 3.23 expected" {
		t.Errorf("change %q", r.Change)
	}
	if want := "median not reached (1/5 failed), others ≥ 10m0s"; r.New != want {
		t.Errorf("NEW: %q, want %q", r.New, want)
	}
	if want := "median 3m30s (4/5 failed), others ≥ 10m0s"; r.Base != want {
		t.Errorf("BASE: %q, want %q", r.Base, want)
	}
	// Reversed, it is worse: a regression for --fail-on ttf.
	c, _ = Compare(CompareSide{Runs: next}, CompareSide{Runs: base}, CompareOptions{})
	if reg := c.Regressions([]string{"ttf"}); len(reg) != 1 || reg[0] != "ttf at runs" {
		t.Errorf("reversed: regressions %v, want [ttf at runs]", reg)
	}
}

// TestCompareSweeps pairs points by value, or by position with a note,
// refuses sweeps it cannot pair, and says each side's trend.
func TestCompareSweeps(t *testing.T) {
	sw, runs := syntheticSweep()
	c, err := Compare(CompareSide{Sweep: sw, Points: runs}, CompareSide{Sweep: sw, Points: runs}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Groups) != 3 || len(c.Notes) != 0 || c.Groups[0].Name != "100" {
		t.Errorf("groups %d (%q), notes %v; want 3 paired by value", len(c.Groups), c.Groups[0].Name, c.Notes)
	}
	if !strings.Contains(c.BaseTrend, "failure comes later as the setting grows") {
		t.Errorf("trend %q", c.BaseTrend)
	}
	if reg := c.Regressions([]string{"any"}); len(reg) != 0 {
		t.Errorf("a sweep against itself: regressions %v", reg)
	}
	// All censored at the largest setting: no test, no change.
	if r := row(t, c, 2, "ttf"); r.Verdict != stats.NoChange || r.Change != "none failed on either side" {
		t.Errorf("censored point: %v %q", r.Verdict, r.Change)
	}
	other := *sw
	other.Points = append([]schema.SweepPoint(nil), sw.Points...)
	for i := range other.Points {
		other.Points[i].Values = []string{"x" + other.Points[i].Values[0]}
	}
	c, err = Compare(CompareSide{Sweep: sw, Points: runs}, CompareSide{Sweep: &other, Points: runs}, CompareOptions{})
	if err != nil || len(c.Notes) != 1 || c.Groups[1].Name != "1000 ↔ x1000" {
		t.Errorf("by position: err %v, notes %v, group %q", err, c.Notes, c.Groups[1].Name)
	}
	fewer := other
	fewer.Points = other.Points[:2]
	if _, err := Compare(CompareSide{Sweep: sw, Points: runs}, CompareSide{Sweep: &fewer, Points: runs[:2]}, CompareOptions{}); !errors.Is(err, ErrCompare) {
		t.Errorf("3 points against 2 of other values: err %v, want ErrCompare", err)
	}
	if _, err := Compare(CompareSide{Sweep: sw, Points: runs}, CompareSide{Runs: runs[0]}, CompareOptions{}); !errors.Is(err, ErrCompare) {
		t.Errorf("a sweep against runs: err %v, want ErrCompare", err)
	}
}

// TestCompareOutputs: the text names every metric and the verdicts; the
// benchstat output has one line per run under each side, failing runs
// only with ttf-sec.
func TestCompareOutputs(t *testing.T) {
	sw, runs := syntheticSweep()
	c, err := Compare(CompareSide{Label: "base", Sweep: sw, Points: runs}, CompareSide{Label: "new", Sweep: sw, Points: runs}, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := CompareText(&b, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare-sweep.txt", b.Bytes())
	b.Reset()
	if err := CompareBenchstat(&b, c); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if got, want := strings.Count(out, "BenchmarkSynthetic/range_size=100 1 "), 8; got != want {
		t.Errorf("%d lines for the first point, want %d:\n%s", got, want, out)
	}
	if got, want := strings.Count(out, "ttf-sec"), 2*7; got != want {
		t.Errorf("%d ttf-sec values, want %d (the failing runs)", got, want)
	}
	if !strings.HasPrefix(out, "side: base\n") || !strings.Contains(out, "\nside: new\n") {
		t.Errorf("no side configuration lines:\n%s", out)
	}
	b.Reset()
	if err := CompareJSON(&b, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"verdict": "no significant change"`) {
		t.Errorf("json: %.300s", b.String())
	}
}
