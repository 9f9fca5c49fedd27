package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"
)

func failed(at float64, ok uint64, class errclass.Class, code int) *schema.Summary {
	return &schema.Summary{Status: schema.StatusPassed, TimeToFailure: &schema.Failure{AtSec: at, OKBefore: ok, Class: class, Phase: errclass.PhaseConnect, Code: code}}
}

func TestSweepTableAndCSV(t *testing.T) {
	s := &schema.SweepSummary{Name: "port-range", Axes: []string{"range"}, Repetitions: 2, Points: []schema.SweepPoint{
		schema.SweepPointOf(0, []string{"1025 1124"}, []*schema.Summary{failed(0.008, 100, "eaddrnotavail", 99), failed(0.010, 99, "eaddrnotavail", 99)}, nil),
		schema.SweepPointOf(1, []string{"1025 5000"}, []*schema.Summary{{Status: schema.StatusPassed}, {Status: schema.StatusPassed}}, nil),
	}}
	var b bytes.Buffer
	if err := SweepTable(&b, s); err != nil {
		t.Fatal(err)
	}
	want := `sweep port-range: 2 points × 2 repetitions
range      failed  ttf median  min  max   failure                          ops before (median)
1025 1124  2/2     9ms         8ms  10ms  eaddrnotavail (connect code 99)  99.5
1025 5000  0/2     none        -    -     -                                -
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	if err := SweepCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if got, want := lines[1], "1025 1124,2,2,0,0.009,0.008,0.01,eaddrnotavail,connect,99,99.5,99,100"; got != want {
		t.Errorf("csv row = %q, want %q", got, want)
	}
	if got, want := lines[2], "1025 5000,2,0,0,,,,,,,,,"; got != want {
		t.Errorf("csv row = %q, want %q", got, want)
	}
}

// TestSweepColumns prints a sweep's extra columns in the table and the CSV.
func TestSweepColumns(t *testing.T) {
	s := &schema.SweepSummary{Name: "backlog", Axes: []string{"somaxconn"}, Repetitions: 2, Columns: []string{"half_open.completed"},
		Points: []schema.SweepPoint{{Index: 0, Values: []string{"2"}, Runs: 2, Columns: []schema.ColumnStat{{Path: "half_open.completed", Stat: &schema.Stat{Median: 3.5, Min: 3, Max: 4, N: 2}}}}}}
	var b bytes.Buffer
	if err := SweepTable(&b, s); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Split(b.String(), "\n")[2], "2          0/2     none        -    -    -        -                    3.5 [3–4]"; got != want {
		t.Errorf("table row = %q, want %q", got, want)
	}
	b.Reset()
	if err := SweepCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if got, want := lines[0], "somaxconn,runs,failures,interrupted,ttf_median_sec,ttf_min_sec,ttf_max_sec,class,phase,code,ops_before_median,ops_before_min,ops_before_max,half_open.completed_median,half_open.completed_min,half_open.completed_max"; got != want {
		t.Errorf("csv header = %q, want %q", got, want)
	}
	if got, want := lines[1], "2,2,0,0,,,,,,,,,,3.5,3,4"; got != want {
		t.Errorf("csv row = %q, want %q", got, want)
	}
	js, err := json.Marshal(s.Points[0].Columns)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(js), `[{"path":"half_open.completed","median":3.5,"min":3,"max":4,"n":2}]`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
}

// TestSweepTableInterrupted: a point whose repetitions were cut off before
// they could fail says so; it does not read "0/1 none", which looks like
// "this setting fixes it" (issue 9 item 7).
func TestSweepTableInterrupted(t *testing.T) {
	runs := []*schema.Summary{{Status: schema.StatusInterrupted}}
	s := &schema.SweepSummary{Name: "hb", Axes: []string{"somaxconn"}, Repetitions: 1,
		Points: []schema.SweepPoint{schema.SweepPointOf(0, []string{"1"}, runs, nil)}}
	var b bytes.Buffer
	if err := SweepTable(&b, s); err != nil {
		t.Fatal(err)
	}
	row := strings.Fields(strings.Split(b.String(), "\n")[2])
	if got, want := strings.Join(row[:5], " "), "1 0/0 (+1 interrupted) not"; got != want {
		t.Errorf("row = %q, want it to start %q", strings.Join(row, " "), want)
	}
	b.Reset()
	if err := SweepCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Split(b.String(), "\n")[1], "1,0,0,1,,,,,,,,,"; got != want {
		t.Errorf("csv row = %q, want %q", got, want)
	}
}
