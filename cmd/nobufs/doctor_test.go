package main

import (
	"encoding/json"
	"os"
	"os/exec"
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
	// Up to 50; fewer (0: at once) while an earlier run's TIME_WAITs in
	// the range are younger than the reuse delay.
	if r.Prediction == nil || r.Prediction.Resource != doctor.ResPorts || r.Prediction.AfterOps > 50 {
		t.Errorf("prediction %+v, want ports after at most 50 ops", r.Prediction)
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
// agree. The run goes in a network namespace of its own where one can be
// made (this test binary as the command, under unshare): on the host's
// loopback another test's TIME_WAITs in the range turn reusable a second
// after they were made, and the run then gets a connect or two more than
// the prediction, made a few milliseconds before, counted on.
func TestRunRecordsPrediction(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the port model reads Linux's settings")
	}
	out := t.TempDir()
	args := []string{"run", "--quiet", "--host-state=false", "--out", out, "testdata/port-44k.yaml"}
	var stdout string
	if exec.Command("unshare", "--net", "true").Run() == nil {
		cmd := exec.Command("unshare", unshareNet(nil, append([]string{os.Args[0]}, args...)...)...)
		cmd.Env = append(os.Environ(), envRunMain+"=1")
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v\n%s%s", err, so.String(), se.String())
		}
		stdout = so.String()
	} else {
		t.Log("no network namespace can be made here: the run shares the host's loopback")
		code, so, se := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, so, se)
		}
		stdout = so
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
