package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/nobufs/nobufs/schema"
)

// timeline24h is a synthetic 24 h timeline at one sample a second, with
// host state on every sample and a spike at 13:00.
func timeline24h(tb testing.TB) *schema.Timeline {
	tb.Helper()
	s, _ := loadRun(tb, "port-exhaustion")
	tl := &schema.Timeline{Start: &schema.StartLine{Type: "start", Schema: schema.SchemaVersion, Tool: s.Tool, Scenario: s.Scenario,
		Started: s.Started, Target: s.Target, Settings: s.Settings}}
	for i := 1; i <= 86400; i++ {
		ok := uint64(1000 + 200*math.Sin(float64(i)/600))
		if i == 13*3600 {
			ok = 9000
		}
		tl.Samples = append(tl.Samples, schema.Sample{Type: "sample", Seq: i, Elapsed: float64(i), Issued: ok + 2, OK: ok, Failed: 2,
			Open: int64(50 + i%7), PeakOpen: 60,
			Errors: []schema.ErrorDelta{{Phase: "connect", Class: "econnrefused", Code: 111, N: 2}},
			Host: map[string]any{
				"tcp":      map[string]any{"established": 50.0, "time_wait": float64(1000 + i%300), "syn_sent": 1.0, "listen": 1.0},
				"sockstat": map[string]any{"tcp_mem_pages": float64(40 + i%20), "udp_mem_pages": 0.0},
				"counters": map[string]any{"Tcp.ActiveOpens": float64(ok), "TcpExt.TW": float64(ok - 3)},
				"fds":      70.0,
			},
		})
	}
	return tl
}

// encode writes a timeline as timeline.ndjson would hold it.
func encode(tb testing.TB, tl *schema.Timeline) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	if err := enc.Encode(tl.Start); err != nil {
		tb.Fatal(err)
	}
	for _, s := range tl.Samples {
		if err := enc.Encode(s); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Bytes()
}

func decode24h(tb testing.TB, raw []byte) (*schema.Summary, *schema.Timeline) {
	tl, err := schema.ReadTimeline("24h", bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	return schema.Rebuild(tl), tl
}

// TestTimeline24hDownsampled: 86,400 samples draw as at most MaxPoints
// points a series, and the spike at 13:00 survives.
func TestTimeline24hDownsampled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 24 h timeline")
	}
	tl := timeline24h(t)
	f := TimelineFigure(schema.Rebuild(tl), tl)
	if f.Panels[0].XLabel != "time since start (h)" {
		t.Errorf("x axis %q, want hours", f.Panels[0].XLabel)
	}
	for _, p := range f.Panels {
		for _, sr := range p.Series {
			if len(sr.X) > MaxPoints {
				t.Errorf("%s / %s: %d points, want at most %d", p.Title, sr.Label, len(sr.X), MaxPoints)
			}
		}
	}
	ok := f.Panels[1].Series[0]
	peak := 0.0
	for _, y := range ok.Y {
		peak = math.Max(peak, y)
	}
	if peak != 9000 {
		t.Errorf("ok/s peak %v after downsampling, want the spike of 9000", peak)
	}
}

// BenchmarkTimelineFigure24h is the data of a 24 h timeline's plot.
func BenchmarkTimelineFigure24h(b *testing.B) {
	s, tl := decode24h(b, encode(b, timeline24h(b)))
	b.ResetTimer()
	for b.Loop() {
		TimelineFigure(s, tl)
	}
}

// BenchmarkRender24h draws the 24 h timeline as SVG and PNG.
func BenchmarkRender24h(b *testing.B) {
	s, tl := decode24h(b, encode(b, timeline24h(b)))
	f := TimelineFigure(s, tl)
	b.ResetTimer()
	for b.Loop() {
		for _, format := range []string{"svg", "png"} {
			if _, err := Render(f, format); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRunReport24h is what `nobufs report` does with a 24 h run:
// decode the timeline, make every figure, render SVG and PNG, the page
// and the CSVs.
func BenchmarkRunReport24h(b *testing.B) {
	raw := encode(b, timeline24h(b))
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for b.Loop() {
		s, tl := decode24h(b, raw)
		files, err := RunReport(s, tl, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(files) == 0 {
			b.Fatal(fmt.Errorf("no files"))
		}
	}
}
