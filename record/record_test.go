package record

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/workers/errclass"

	"go.uber.org/goleak"

	"github.com/nobufs/nobufs/scenarios"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testScenario(t *testing.T) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("t.yaml", []byte("name: t\nkind: port-exhaustion\n"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestCreateLayout(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC)
	sc := testScenario(t)
	r1, err := Create(root, "t", sc, now)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := Create(root, "t", sc, now)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if got, want := r1.Dir, filepath.Join(root, "t", "20261122T030405Z"); got != want {
		t.Errorf("first dir %s, want %s", got, want)
	}
	if got, want := r2.Dir, filepath.Join(root, "t", "20261122T030405Z-2"); got != want {
		t.Errorf("second dir in the same second %s, want %s", got, want)
	}
	// The recorded scenario decodes back to the same scenario.
	back, err := scenarios.LoadFile(filepath.Join(r1.Dir, ScenarioFile))
	if err != nil {
		t.Fatalf("scenario.yaml does not load: %v", err)
	}
	if back.Name != sc.Name || back.Stop != sc.Stop || back.Target.Builtin != sc.Target.Builtin || back.Load.Workers != sc.Load.Workers {
		t.Errorf("scenario.yaml = %+v, want %+v", back, sc)
	}
}

const goodTimeline = `{"type":"start","schema":1,"tool":{"name":"nobufs","version":"t"},"scenario":{"name":"t","kind":"port-exhaustion","failure":{"classes":["eaddrnotavail"]},"expect":{"failure":"any"}},"started":"2026-11-22T03:00:00Z","target":{"mode":"sink","address":"127.0.0.1:1"}}
{"type":"sample","seq":1,"elapsed_sec":1,"ok":100,"failed":0,"dropped":0,"open":3}
{"type":"sample","seq":2,"elapsed_sec":2,"ok":50,"failed":7,"dropped":1,"open":5,"errors":[{"phase":"connect","class":"eaddrnotavail","code":99,"n":7}]}
`

func TestRebuild(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, TimelineFile), []byte(goodTimeline+`{"type":"sam`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Rebuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != schema.StatusPartial || s.Ops.OK != 150 || s.Ops.Failed != 7 || s.Ops.Dropped != 1 || s.PeakOpen != 5 {
		t.Errorf("rebuilt = status %s ops %+v peak %d", s.Status, s.Ops, s.PeakOpen)
	}
	f := s.TimeToFailure
	if f == nil || f.Class != errclass.ClassEADDRNOTAVAIL || f.AtSec != 2 || f.OKBefore != 150 {
		t.Errorf("rebuilt time to failure = %+v, want eaddrnotavail known at the 2 s sample after 150 ok", f)
	}
	if _, err := Rebuild(t.TempDir()); !errors.Is(err, ErrNotRun) {
		t.Errorf("Rebuild of an empty dir: %v, want ErrNotRun", err)
	}
}

// TestWriteSummaryFileUnencodable: a summary that cannot be encoded (NaN
// is not JSON) is an error that leaves neither summary.json nor its
// temporary file (which Run.Close removes once it has closed it).
func TestWriteSummaryFileUnencodable(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSummaryFile(dir, &schema.Summary{Schema: 1, ElapsedSec: math.NaN()}); err == nil {
		t.Fatal("WriteSummaryFile of a NaN summary: nil error, want an encoding error")
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		t.Errorf("left %s in the run directory, want nothing", e.Name())
	}
}

func TestReadSummaryErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadSummary(dir); !errors.Is(err, ErrNotRun) {
		t.Errorf("empty dir: %v, want ErrNotRun", err)
	}
	os.WriteFile(filepath.Join(dir, TimelineFile), []byte(goodTimeline), 0o644)
	if _, err := ReadSummary(dir); err == nil || !strings.Contains(err.Error(), "report --rebuild") {
		t.Errorf("timeline only: %v, want advice to rebuild", err)
	}
	os.WriteFile(filepath.Join(dir, SummaryFile), []byte(`{"schema": 7}`), 0o644)
	if _, err := ReadSummary(dir); err == nil || !strings.Contains(err.Error(), "schema 7") {
		t.Errorf("future schema: %v", err)
	}
	os.WriteFile(filepath.Join(dir, SummaryFile), []byte(`{"schema": 1`), 0o644)
	if _, err := ReadSummary(dir); err == nil || !strings.Contains(err.Error(), "not a nobufs summary") {
		t.Errorf("corrupt summary: %v", err)
	}
}

// TestWriteFileAtomic: the file is replaced whole, and a failed write
// leaves the old one and no temporary file (a sweep's summary.json and
// summary.csv are written so; issue 9 item 11).
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "summary.json")
	for _, v := range []string{"one\n", "two\n"} {
		if err := WriteFileAtomic(p, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != v {
			t.Errorf("content %q, want %q", b, v)
		}
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such", "dir"), []byte("x")); err == nil {
		t.Error("a write into a missing directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %v, want only summary.json", ents)
	}
}
