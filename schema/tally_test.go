package schema

import (
	"reflect"
	"testing"

	"github.com/nobufs/nobufs/workers/errclass"
)

var (
	kPorts = errclass.ErrorKey{Phase: errclass.PhaseConnect, Class: errclass.ClassEADDRNOTAVAIL, Code: 99}
	kFDs   = errclass.ErrorKey{Phase: errclass.PhaseSocket, Class: errclass.ClassEMFILE, Code: 24}
	kBind  = errclass.ErrorKey{Phase: errclass.PhaseBind, Class: errclass.ClassEADDRINUSE, Code: 98}
)

func TestTallyFirstOccurrenceAndOrder(t *testing.T) {
	var ta Tally
	ta.AddError(kPorts, 5, 2.0, 40)
	ta.AddError(kPorts, 3, 1.5, 31) // an earlier first: it wins
	ta.AddError(kFDs, 10, 3.0, 50)
	ta.AddError(kBind, 1, 1.5, 30) // same time as kPorts' first, lower op
	want := []ErrorCount{
		{Phase: errclass.PhaseSocket, Class: errclass.ClassEMFILE, Code: 24, Count: 10, FirstAt: 3, FirstOp: 50},
		{Phase: errclass.PhaseConnect, Class: errclass.ClassEADDRNOTAVAIL, Code: 99, Count: 8, FirstAt: 1.5, FirstOp: 31},
		{Phase: errclass.PhaseBind, Class: errclass.ClassEADDRINUSE, Code: 98, Count: 1, FirstAt: 1.5, FirstOp: 30},
	}
	if got := ta.Errors(); !reflect.DeepEqual(got, want) {
		t.Errorf("Errors() =\n%+v\nwant\n%+v", got, want)
	}
	cs := ta.Classes()
	if len(cs) != 3 || cs[0].Class != errclass.ClassEADDRINUSE || cs[1].Class != errclass.ClassEADDRNOTAVAIL || cs[2].Class != errclass.ClassEMFILE {
		t.Errorf("Classes() = %+v, want by first occurrence: eaddrinuse, eaddrnotavail, emfile", cs)
	}
	f := ta.First([]string{"emfile", "eaddrnotavail"})
	if f == nil || f.Class != errclass.ClassEADDRNOTAVAIL || f.AtSec != 1.5 || f.Op != 31 {
		t.Errorf("First = %+v, want eaddrnotavail at 1.5 s, op 31", f)
	}
	if ta.First([]string{"enobufs"}) != nil {
		t.Error("First of a class that never occurred is not nil")
	}
}

// TestTallyFoldsAlike: the same counts come out whether they are folded
// from timeline samples, from errors one by one, or from two summaries
// (segments) — the one aggregator.
func TestTallyFoldsAlike(t *testing.T) {
	at1, at2 := 0.4, 1.2
	samples := []Sample{
		{Elapsed: 1, Issued: 10, OK: 9, Failed: 1, Open: 3, PeakOpen: 5, BytesOut: 100,
			Errors: []ErrorDelta{{Phase: kPorts.Phase, Class: kPorts.Class, Code: kPorts.Code, N: 1, FirstAt: &at1, FirstOp: 7}}},
		{Elapsed: 2, Issued: 5, OK: 2, Failed: 3, Open: 1, PeakOpen: 2, BytesOut: 50,
			Errors: []ErrorDelta{{Phase: kPorts.Phase, Class: kPorts.Class, Code: kPorts.Code, N: 2},
				{Phase: kFDs.Phase, Class: kFDs.Class, Code: kFDs.Code, N: 1, FirstAt: &at2, FirstOp: 14}}},
	}
	var fromSamples Tally
	for _, s := range samples {
		fromSamples.AddSample(s)
	}
	if got, want := fromSamples.Ops, (OpCounts{Issued: 15, OK: 11, Failed: 4}); got != want {
		t.Errorf("ops = %+v, want %+v", got, want)
	}
	if fromSamples.PeakOpen != 5 || fromSamples.BytesOut != 150 {
		t.Errorf("peak %d bytes %d, want 5 and 150", fromSamples.PeakOpen, fromSamples.BytesOut)
	}
	var direct Tally
	direct.AddError(kPorts, 3, at1, 7)
	direct.AddError(kFDs, 1, at2, 14)
	if !reflect.DeepEqual(fromSamples.Errors(), direct.Errors()) {
		t.Errorf("from samples %+v, direct %+v", fromSamples.Errors(), direct.Errors())
	}
	// Two segments' summaries merge into one.
	var s1, s2 Summary
	var t1, t2 Tally
	t1.AddSample(samples[0])
	t2.AddSample(samples[1])
	t1.Fill(&s1)
	t2.Fill(&s2)
	var merged Tally
	merged.AddSummary(&s1)
	merged.AddSummary(&s2)
	if !reflect.DeepEqual(merged.Errors(), fromSamples.Errors()) || merged.Ops != fromSamples.Ops {
		t.Errorf("merged %+v %+v, want %+v %+v", merged.Ops, merged.Errors(), fromSamples.Ops, fromSamples.Errors())
	}
}
