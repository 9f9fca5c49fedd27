package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// loadRun reads a recorded run under testdata/runs.
func loadRun(t testing.TB, name string) (*schema.Summary, *schema.Timeline) {
	t.Helper()
	dir := filepath.Join("testdata", "runs", name)
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := schema.DecodeSummary(name, b)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "timeline.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tl, err := schema.ReadTimeline(name, f)
	if err != nil {
		t.Fatal(err)
	}
	return s, tl
}

// syntheticRun is one repetition: failing at ttf seconds (0: not failing
// within its 30 s), connects of base µs and up.
func syntheticRun(name string, ttf float64, base int) *schema.Summary {
	h := schema.NewHist()
	for i := range 200 {
		schema.Record(h, time.Duration(base+i*i/10)*time.Microsecond)
	}
	s := &schema.Summary{
		Schema: schema.SchemaVersion, Status: schema.StatusPassed, ElapsedSec: 30, StopReason: schema.StopDuration,
		Scenario: &scenarios.Scenario{Name: name, Kind: scenarios.KindPortExhaustion, Failure: scenarios.Failure{Classes: []string{"eaddrnotavail"}},
			Load: scenarios.Load{Model: scenarios.ModelClosed, Workers: 1}, Stop: scenarios.Stop{Duration: scenarios.Duration(30 * time.Second), MaxOps: 1000}},
		Ops:     schema.OpCounts{Issued: 200, OK: 200},
		Latency: map[string]schema.Latency{"connect": schema.LatencyOf(h)},
	}
	if ttf > 0 {
		s.StopReason, s.ElapsedSec = schema.StopFailure, ttf
		s.Ops.Issued, s.Ops.Failed = 201, 1
		s.TimeToFailure = &schema.Failure{Class: "eaddrnotavail", Phase: "connect", Code: 99, AtSec: ttf, Op: 201, OKBefore: 200}
		s.Errors = []schema.ErrorCount{{Phase: "connect", Class: "eaddrnotavail", Code: 99, Count: 1, FirstAt: ttf, FirstOp: 201}}
		s.Classes = []schema.ClassFirst{{Class: "eaddrnotavail", Count: 1, FirstAt: ttf, FirstOp: 201, Phase: "connect", Code: 99}}
	}
	return s
}

// syntheticSweep has three settings: the smallest always fails, the
// middle one fails three times in four, the largest never (censored).
func syntheticSweep() (*schema.SweepSummary, [][]*schema.Summary) {
	ttfs := [][]float64{{1, 2, 3, 4}, {10, 12, 14, 0}, {0, 0, 0, 0}}
	sw := &schema.SweepSummary{Name: "synthetic", Axes: []string{"port_exhaustion.range_size"}, Repetitions: 4}
	var runs [][]*schema.Summary
	for i, v := range []string{"100", "1000", "10000"} {
		var rs []*schema.Summary
		var dirs []string
		for j, t := range ttfs[i] {
			rs = append(rs, syntheticRun("synthetic-point", t, 20*(i+1)))
			dirs = append(dirs, fmt.Sprintf("runs/p%03d-r%d", i, j+1))
		}
		sw.Points = append(sw.Points, schema.SweepPointOf(i, []string{v}, rs, dirs))
		runs = append(runs, rs)
	}
	return sw, runs
}

// golden compares got with testdata/golden/name (go test ./report -update
// rewrites it).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to make it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file (go test ./report -update rewrites it; review the diff):\ngot:\n%s", path, trimTo(got, 3000))
	}
}

func trimTo(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// figures are every figure the tests check, by golden name.
func figures(t *testing.T) map[string]Figure {
	dp, dtl := loadRun(t, "dead-peer")
	pe, ptl := loadRun(t, "port-exhaustion")
	sw, runs := syntheticSweep()
	figs := map[string]Figure{
		"timeline-dead-peer":       TimelineFigure(dp, dtl),
		"timeline-port-exhaustion": TimelineFigure(pe, ptl),
		"sweep":                    SweepFigure(sw, runs),
		"survival":                 SurvivalFigure(sw, runs),
	}
	add := func(name string, f Figure, ok bool) {
		if !ok {
			t.Fatalf("no %s figure", name)
		}
		figs[name] = f
	}
	f, ok := DeadPeerFigure(dp, dtl)
	add("deadpeer", f, ok)
	f, ok = LatencyFigure(pe)
	add("latency-port-exhaustion", f, ok)
	f, ok = ErrorsFigure(title(dp, "errors"), dp.Errors)
	add("errors-dead-peer", f, ok)
	f, ok = SweepLatencyFigure(sw, runs)
	add("latency-sweep", f, ok)
	return figs
}

// TestFigureData compares the data behind every plot with its golden file.
func TestFigureData(t *testing.T) {
	for name, f := range figures(t) {
		t.Run(name, func(t *testing.T) {
			b, err := json.MarshalIndent(f, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "figure-"+name+".json", append(b, '\n'))
		})
	}
}

var svgText = regexp.MustCompile(`<text[^>]*>([^<]*)</text>`)

// TestRenderSmoke renders every figure as SVG and PNG: the SVG has the
// title, every panel's title and axis labels and every legend entry as
// text; the PNG decodes and has the figure's size.
func TestRenderSmoke(t *testing.T) {
	for name, f := range figures(t) {
		t.Run(name, func(t *testing.T) {
			svg, err := Render(f, "svg")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(svg, []byte("<svg")) {
				t.Fatalf("not an SVG: %.200s", svg)
			}
			var texts []string
			for _, m := range svgText.FindAllSubmatch(svg, -1) {
				texts = append(texts, html.UnescapeString(string(m[1])))
			}
			all := strings.Join(texts, "\n")
			want := strings.Split(f.Title, "\n")
			for _, p := range f.Panels {
				want = append(want, p.Title, p.XLabel, p.YLabel)
				for _, s := range p.Series {
					if s.Label != "" {
						want = append(want, s.Label)
					}
				}
				for _, m := range p.Marks {
					want = append(want, m.Label)
				}
			}
			for _, w := range want {
				if w != "" && !strings.Contains(all, w) {
					t.Errorf("the SVG has no text %q", w)
				}
			}
			pngData, err := Render(f, "png")
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(pngData))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 864 || b.Dy() < 300*len(f.Panels) {
				t.Errorf("PNG is %dx%d for %d panels", b.Dx(), b.Dy(), len(f.Panels))
			}
		})
	}
	if _, err := Render(Figure{Name: "empty"}, "svg"); err == nil {
		t.Errorf("an empty figure rendered")
	}
	if _, err := Render(figures(t)["sweep"], "gif"); err == nil {
		t.Errorf("format gif rendered")
	}
}

// dataURI stands for the inline images in the HTML goldens: their bytes
// are checked by the figure goldens and the smoke test.
var dataURI = regexp.MustCompile(`data:image/svg[^"]*`)

// offline checks that a page loads nothing from anywhere.
func offline(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"<script", "<link", "@import", "url(", `src="http`, `href="http`, "<iframe"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q: it must open offline", bad)
		}
	}
	if n := strings.Count(page, `src="data:image/svg&#43;xml;base64,`); n == 0 {
		t.Errorf("the page has no inline image")
	}
}

func pageOf(t *testing.T, files []File) string {
	t.Helper()
	for _, f := range files {
		if f.Name == PageFile {
			return string(f.Data)
		}
	}
	t.Fatalf("no %s among %d files", PageFile, len(files))
	return ""
}

// TestRunPage checks a run's report.html against its golden file (images
// aside) and that it is self-contained; and the files a report makes.
func TestRunPage(t *testing.T) {
	s, tl := loadRun(t, "dead-peer")
	files, err := RunReport(s, tl, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		if len(f.Data) == 0 {
			t.Errorf("%s is empty", f.Name)
		}
	}
	want := "plots/timeline.svg plots/timeline.png plots/deadpeer.svg plots/deadpeer.png plots/latency.svg plots/latency.png plots/errors.svg plots/errors.png timeline.csv runs.csv report.html"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("files:\n got %s\nwant %s", got, want)
	}
	page := pageOf(t, files)
	offline(t, page)
	for _, w := range []string{"dead-peer-push", "Top hogs", "127.0.0.1:52680", "Time to failure", "deadline", "Settings in force", "net.ipv4.tcp_wmem"} {
		if !strings.Contains(page, w) {
			t.Errorf("the page does not mention %q", w)
		}
	}
	golden(t, "run-dead-peer.html", []byte(dataURI.ReplaceAllString(page, "data:…")))
}

// TestSweepPage checks a sweep's report.html and runs.csv.
func TestSweepPage(t *testing.T) {
	sw, runs := syntheticSweep()
	files, err := SweepReport(sw, runs, map[string]bool{"runs/p000-r1": true}, Options{Version: "test", NoPNG: true})
	if err != nil {
		t.Fatal(err)
	}
	page := pageOf(t, files)
	offline(t, page)
	for _, w := range []string{"not reached", "failure comes later as the setting grows", "0/4", "3/4", "4/4", `href="runs/p000-r1/report.html"`} {
		if !strings.Contains(page, w) {
			t.Errorf("the page does not say %q", w)
		}
	}
	if strings.Contains(page, "plots/sweep.png") {
		t.Errorf("NoPNG, but the page links a PNG")
	}
	golden(t, "sweep-synthetic.html", []byte(dataURI.ReplaceAllString(page, "data:…")))
	for _, f := range files {
		if f.Name == RunsCSVFile {
			golden(t, "sweep-synthetic-runs.csv", f.Data)
		}
	}
}

// TestTimelineCSV checks the CSV of a timeline with host state.
func TestTimelineCSV(t *testing.T) {
	_, tl := loadRun(t, "dead-peer")
	var b bytes.Buffer
	if err := TimelineCSV(&b, tl); err != nil {
		t.Fatal(err)
	}
	golden(t, "timeline-dead-peer.csv", b.Bytes())
}
