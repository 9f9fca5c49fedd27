package main

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/doctor"
	"github.com/nobufs/nobufs/record"
)

func TestDoctorCLI(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("doctor reads Linux's /proc")
	}
	code, out, errOut := runCLI(t, "doctor")
	if code != exitOK {
		t.Fatalf("doctor: exit %d, want 0\n%s", code, errOut)
	}
	h := doctor.ReadHost(doctor.Default())
	for _, c := range doctor.Checks(h) {
		if !strings.Contains(out, " "+c.Name+" ") {
			t.Errorf("output lacks check %q:\n%s", c.Name, out)
		}
	}
	if strings.Contains(out, "fails first") {
		t.Errorf("output without a scenario has a prediction:\n%s", out)
	}

	code, out, errOut = runCLI(t, "doctor", "--json", "testdata/port-44k.yaml")
	if code != exitOK {
		t.Fatalf("doctor --json: exit %d, want 0\n%s", code, errOut)
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if got, want := len(r.Checks), len(doctor.Checks(h)); got != want {
		t.Errorf("%d checks, want %d", got, want)
	}
	if r.Prediction == nil || r.Prediction.Resource != doctor.ResPorts || r.Prediction.AfterOps == 0 || r.Prediction.AfterOps > 50 {
		t.Errorf("prediction %+v, want ports after 1..50 ops", r.Prediction)
	}
}

func TestDoctorBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"doctor", "testdata/bad.yaml"},
		{"doctor", "testdata/missing.yaml"},
		{"doctor", "a.yaml", "b.yaml"},
		{"doctor", "--nope"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}
	_, _, errOut := runCLI(t, "doctor", "testdata/bad.yaml")
	if !strings.Contains(errOut, "bad.yaml:4:3") {
		t.Errorf("stderr %q, want the file:line:column of the typo", errOut)
	}
}

// TestRunRecordsPrediction checks that summary.json carries the
// prediction beside the actual failure, and that for port exhaustion they
// agree.
func TestRunRecordsPrediction(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the port model reads Linux's settings")
	}
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--quiet", "--host-state=false", "--out", out, "testdata/port-44k.yaml")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "predicted ") {
		t.Errorf("summary text lacks the prediction:\n%s", stdout)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "*", "*"))
	if len(dirs) != 1 {
		t.Fatalf("run dirs %v, want one", dirs)
	}
	sum, err := record.ReadSummary(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	p, f := sum.Prediction, sum.TimeToFailure
	if p == nil || f == nil {
		t.Fatalf("prediction %+v, time_to_failure %+v: want both", p, f)
	}
	// The built-in target's own ephemeral listening port may by chance lie
	// in the source range and take one of its ports.
	if p.Resource != doctor.ResPorts || p.Class != string(f.Class) || f.OKBefore > p.AfterOps || f.OKBefore+1 < p.AfterOps {
		t.Errorf("predicted %s/%s after %d, actual %s after %d ok: want them to agree", p.Resource, p.Class, p.AfterOps, f.Class, f.OKBefore)
	}
}

// TestDoctorPredictsInTheCell: a scenario with a lab cell runs in the
// cell's client namespace, so the prediction uses that namespace's own
// sysctls (port-range-cell.yaml: 1025-5000, tcp_tw_reuse 0, nothing bound
// yet), not the host's. Doctor only reads: no root needed.
func TestDoctorPredictsInTheCell(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the port model reads Linux's settings")
	}
	code, out, errOut := runCLI(t, "doctor", "--json", "../../scenarios.d/port-range-cell.yaml")
	if code != exitOK {
		t.Fatalf("doctor --json: exit %d, want 0\n%s", code, errOut)
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if p := r.Prediction; p == nil || p.Resource != doctor.ResPorts || p.AfterOps != 3976 {
		t.Errorf("prediction %+v, want ports after 3976 ops (the cell's 1025-5000)", p)
	}
}
