package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/workers"
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

func failed(at float64, ok uint64, class workers.Class, code int) *workers.Summary {
	return &workers.Summary{Status: workers.StatusPassed, TimeToFailure: &workers.Failure{AtSec: at, OKBefore: ok, Class: class, Phase: workers.PhaseConnect, Code: code}}
}

func TestSweepPointOf(t *testing.T) {
	runs := []*workers.Summary{
		failed(0.2, 100, workers.ClassEADDRNOTAVAIL, 99),
		{Status: workers.StatusPassed}, // no failure
		failed(0.1, 98, workers.ClassEADDRINUSE, 98),
		failed(0.4, 99, workers.ClassEADDRNOTAVAIL, 99),
		nil, // not run (interrupted sweep)
		{Status: workers.StatusInterrupted},
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
		SweepPointOf(0, []string{"1025 1124"}, []*workers.Summary{failed(0.008, 100, "eaddrnotavail", 99), failed(0.010, 99, "eaddrnotavail", 99)}, nil),
		SweepPointOf(1, []string{"1025 5000"}, []*workers.Summary{{Status: workers.StatusPassed}, {Status: workers.StatusPassed}}, nil),
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
