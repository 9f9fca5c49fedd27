package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"
)

func TestStatOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want *Stat
	}{
		{nil, nil},                                   // nothing failed: no statistic
		{[]float64{3}, &Stat{3, 3, 3, 1}},            // one value
		{[]float64{5, 1, 3}, &Stat{3, 1, 5, 3}},      // odd count: the middle one
		{[]float64{4, 1, 2, 10}, &Stat{3, 1, 10, 4}}, // even count: mean of the middle two
	}
	for _, tt := range tests {
		if got := StatOf(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("StatOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func failed(at float64, ok uint64, class errclass.Class, code int) *schema.Summary {
	return &schema.Summary{Status: schema.StatusPassed, TimeToFailure: &schema.Failure{AtSec: at, OKBefore: ok, Class: class, Phase: errclass.PhaseConnect, Code: code}}
}

func TestSweepPointOf(t *testing.T) {
	runs := []*schema.Summary{
		failed(0.2, 100, errclass.ClassEADDRNOTAVAIL, 99),
		{Status: schema.StatusPassed}, // no failure
		failed(0.1, 98, errclass.ClassEADDRINUSE, 98),
		failed(0.4, 99, errclass.ClassEADDRNOTAVAIL, 99),
		nil, // not run (interrupted sweep)
		{Status: schema.StatusInterrupted},
	}
	p := SweepPointOf(2, []string{"1025 1124"}, runs, nil)
	if got, want := [3]int{p.Runs, p.Failures, p.Interrupted}, [3]int{5, 3, 1}; got != want {
		t.Errorf("runs, failures, interrupted = %v, want %v", got, want)
	}
	if got, want := *p.TTF, (Stat{0.2, 0.1, 0.4, 3}); got != want {
		t.Errorf("ttf = %+v, want %+v", got, want)
	}
	if got, want := *p.OpsBefore, (Stat{99, 98, 100, 3}); got != want {
		t.Errorf("ops before = %+v, want %+v", got, want)
	}
	if p.Class != "eaddrnotavail" || p.Code != 99 || p.Phase != "connect" {
		t.Errorf("failure = %s %s %d, want the most frequent: eaddrnotavail connect 99", p.Class, p.Phase, p.Code)
	}
}

func TestSweepTableAndCSV(t *testing.T) {
	s := &SweepSummary{Name: "port-range", Axes: []string{"range"}, Repetitions: 2, Points: []SweepPoint{
		SweepPointOf(0, []string{"1025 1124"}, []*schema.Summary{failed(0.008, 100, "eaddrnotavail", 99), failed(0.010, 99, "eaddrnotavail", 99)}, nil),
		SweepPointOf(1, []string{"1025 5000"}, []*schema.Summary{{Status: schema.StatusPassed}, {Status: schema.StatusPassed}}, nil),
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
	if got, want := lines[1], "1025 1124,2,2,0.009,0.008,0.01,eaddrnotavail,connect,99,99.5,99,100"; got != want {
		t.Errorf("csv row = %q, want %q", got, want)
	}
	if got, want := lines[2], "1025 5000,2,0,,,,,,,,,"; got != want {
		t.Errorf("csv row = %q, want %q", got, want)
	}
}

func TestCheckColumn(t *testing.T) {
	tests := []struct {
		path    string
		wantErr string // "" for a valid path
	}{
		{"half_open.completed", ""},
		{"half_open.pending_plateau.mean", ""},
		{"dead_peer.mean_queued_total", ""},
		{"dead_peer.top.0.queued", ""}, // a list index
		{"latency.connect.p50_us", ""}, // a map key
		{"udp_push.enobufs", ""},       // below a pointer section
		{"time_to_failure.at_sec", ""}, // the ttf itself
		{"half_open.complted", `summary.json has no field "complted" at half_open`},
		{"half_open", `half_open is an object, not a number`},
		{"status", `status is not a number`},
		{"dead_peer.top.first.queued", `dead_peer.top is a list: the next part must be an index such as 0, got "first"`},
		{"ops.ok.x", `ops.ok is a value; nothing is below it`},
		// Written as text in summary.json ("30s", a timestamp): never a column value.
		{"scenario.stop.duration", `scenario.stop.duration is written as text in summary.json, not a number`},
		{"started", `started is written as text in summary.json, not a number`},
	}
	for _, tt := range tests {
		err := CheckColumn(tt.path)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckColumn(%q) = %v, want nil", tt.path, err)
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("CheckColumn(%q) = %v, want %q…", tt.path, err, tt.wantErr)
		}
	}
}

// TestColumnStatsZero: a number summary.json leaves out when it is zero
// (omitempty, such as target.datagrams) is a 0 of that run, not a run
// without the column; a nil pointer (recovered_at_sec) is still absent.
func TestColumnStatsZero(t *testing.T) {
	sink := func(n uint64) *schema.Summary {
		return &schema.Summary{Target: schema.TargetInfo{Datagrams: n}, PortExhaustion: &schema.PortReport{}}
	}
	got := ColumnStats([]string{"target.datagrams", "port_exhaustion.recovered_at_sec"}, []*schema.Summary{sink(0), sink(4)})
	want := []ColumnStat{
		{Path: "target.datagrams", Stat: &Stat{2, 0, 4, 2}},
		{Path: "port_exhaustion.recovered_at_sec"},
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("ColumnStats %s = %+v, want %+v", want[i].Path, got[i].Stat, want[i].Stat)
		}
	}
}

func TestColumnStats(t *testing.T) {
	hor := func(completed uint64) *schema.Summary {
		return &schema.Summary{Status: schema.StatusPassed, HalfOpen: &schema.HalfOpenReport{Completed: completed}}
	}
	runs := []*schema.Summary{hor(3), nil, hor(5), {Status: schema.StatusPassed}, hor(4)}
	got := ColumnStats([]string{"half_open.completed", "dead_peer.mean_queued_total"}, runs)
	want := []ColumnStat{
		{Path: "half_open.completed", Stat: &Stat{4, 3, 5, 3}}, // runs without the section do not count
		{Path: "dead_peer.mean_queued_total"},                  // no run has it
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ColumnStats = %+v, want %+v", got, want)
	}
	s := &SweepSummary{Name: "backlog", Axes: []string{"somaxconn"}, Repetitions: 2, Columns: []string{"half_open.completed"},
		Points: []SweepPoint{{Index: 0, Values: []string{"2"}, Runs: 2, Columns: []ColumnStat{{Path: "half_open.completed", Stat: &Stat{3.5, 3, 4, 2}}}}}}
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
	if got, want := lines[0], "somaxconn,runs,failures,ttf_median_sec,ttf_min_sec,ttf_max_sec,class,phase,code,ops_before_median,ops_before_min,ops_before_max,half_open.completed_median,half_open.completed_min,half_open.completed_max"; got != want {
		t.Errorf("csv header = %q, want %q", got, want)
	}
	if got, want := lines[1], "2,2,0,,,,,,,,,,3.5,3,4"; got != want {
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
