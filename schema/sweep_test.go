package schema

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/workers/errclass"
)

func TestStatOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want *Stat
	}{
		{nil, nil}, // nothing failed: no statistic
		{[]float64{3}, &Stat{Median: 3, Min: 3, Max: 3, N: 1}},            // one value
		{[]float64{5, 1, 3}, &Stat{Median: 3, Min: 1, Max: 5, N: 3}},      // odd count: the middle one
		{[]float64{4, 1, 2, 10}, &Stat{Median: 3, Min: 1, Max: 10, N: 4}}, // even count: mean of the middle two
	}
	for _, tt := range tests {
		if got := StatOf(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("StatOf(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestSweepPointOf(t *testing.T) {
	runs := []*Summary{
		failed(0.2, 100, errclass.ClassEADDRNOTAVAIL, 99),
		{Status: StatusPassed}, // no failure
		failed(0.1, 98, errclass.ClassEADDRINUSE, 98),
		failed(0.4, 99, errclass.ClassEADDRNOTAVAIL, 99),
		nil,                         // not run (interrupted sweep)
		{Status: StatusInterrupted}, // cut off before it could fail: not a run that survived
		{Status: StatusPartial},     // rebuilt from a dead run: likewise
		{Status: StatusInterrupted, Sections: Sections{}, TimeToFailure: nil},
	}
	p := SweepPointOf(2, []string{"1025 1124"}, runs, nil)
	// Finished runs only (issue 9 item 7: an interrupted repetition read
	// as "0/1 none", as if the setting fixed the failure).
	if got, want := [3]int{p.Runs, p.Failures, p.Interrupted}, [3]int{4, 3, 3}; got != want {
		t.Errorf("runs, failures, interrupted = %v, want %v", got, want)
	}
	if got, want := *p.TTF, (Stat{Median: 0.2, Min: 0.1, Max: 0.4, N: 3}); got != want {
		t.Errorf("ttf = %+v, want %+v", got, want)
	}
	if got, want := *p.OpsBefore, (Stat{Median: 99, Min: 98, Max: 100, N: 3}); got != want {
		t.Errorf("ops before = %+v, want %+v", got, want)
	}
	if p.Class != "eaddrnotavail" || p.Code != 99 || p.Phase != "connect" {
		t.Errorf("failure = %s %s %d, want the most frequent: eaddrnotavail connect 99", p.Class, p.Phase, p.Code)
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
	sink := func(n uint64) *Summary {
		return &Summary{Target: TargetInfo{Datagrams: n}, Sections: Sections{PortExhaustion: &PortReport{}}}
	}
	got := ColumnStats([]string{"target.datagrams", "port_exhaustion.recovered_at_sec"}, []*Summary{sink(0), sink(4)})
	want := []ColumnStat{
		{Path: "target.datagrams", Stat: &Stat{Median: 2, Min: 0, Max: 4, N: 2}},
		{Path: "port_exhaustion.recovered_at_sec"},
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("ColumnStats %s = %+v, want %+v", want[i].Path, got[i].Stat, want[i].Stat)
		}
	}
}

func TestColumnStats(t *testing.T) {
	hor := func(completed uint64) *Summary {
		return &Summary{Status: StatusPassed, Sections: Sections{HalfOpen: &HalfOpenReport{Completed: completed}}}
	}
	runs := []*Summary{hor(3), nil, hor(5), {Status: StatusPassed}, hor(4)}
	got := ColumnStats([]string{"half_open.completed", "dead_peer.mean_queued_total"}, runs)
	want := []ColumnStat{
		{Path: "half_open.completed", Stat: &Stat{Median: 4, Min: 3, Max: 5, N: 3}}, // runs without the section do not count
		{Path: "dead_peer.mean_queued_total"},                                       // no run has it
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ColumnStats = %+v, want %+v", got, want)
	}

}

func failed(at float64, ok uint64, class errclass.Class, code int) *Summary {
	return &Summary{Status: StatusPassed, TimeToFailure: &Failure{AtSec: at, OKBefore: ok, Class: class, Phase: errclass.PhaseConnect, Code: code}}
}
