package report

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// Files a report writes into a run's or a sweep's directory.
const (
	// PageFile is the report page: self-contained, it loads nothing.
	PageFile = "report.html"
	// PlotsDir holds each plot as SVG and PNG.
	PlotsDir = "plots"
	// TimelineCSVFile is a run's timeline as CSV.
	TimelineCSVFile = "timeline.csv"
	// RunsCSVFile is one row per run: the run's own, or a sweep's runs.
	RunsCSVFile = "runs.csv"
)

// File is one file of a report: its path relative to the results
// directory and its contents.
type File struct {
	Name string
	Data []byte
}

// Options tune a report.
type Options struct {
	// Version is the nobufs version named on the page.
	Version string
	// Now is when the page says it was made; zero leaves it out (tests).
	Now time.Time
	// NoPNG skips the PNG files (the page shows SVG only).
	NoPNG bool
}

// renderAll renders each figure as SVG (and PNG) into PlotsDir.
func renderAll(figs []Figure, o Options) ([]Plot, []File, error) {
	var plots []Plot
	var files []File
	for _, f := range figs {
		svg, err := Render(f, "svg")
		if err != nil {
			return nil, nil, err
		}
		files = append(files, File{path.Join(PlotsDir, f.Name+".svg"), svg})
		if !o.NoPNG {
			png, err := Render(f, "png")
			if err != nil {
				return nil, nil, err
			}
			files = append(files, File{path.Join(PlotsDir, f.Name+".png"), png})
		}
		p := plotOf(f, svg, PlotsDir+"/")
		if o.NoPNG {
			p.PNG = ""
		}
		plots = append(plots, p)
	}
	return plots, files, nil
}

// RunFigures are the figures of one run: its timeline, latency, errors
// and, for a dead-peer run, the queued bytes of its top sockets. tl may
// be nil (no timeline: no timeline plots).
func RunFigures(s *schema.Summary, tl *schema.Timeline) []Figure {
	var figs []Figure
	if tl != nil && len(tl.Samples) > 0 {
		figs = append(figs, TimelineFigure(s, tl))
		if f, ok := DeadPeerFigure(s, tl); ok {
			figs = append(figs, f)
		}
	}
	if f, ok := LatencyFigure(s); ok {
		figs = append(figs, f)
	}
	if f, ok := ErrorsFigure(title(s, "errors"), s.Errors); ok {
		figs = append(figs, f)
	}
	return figs
}

// RunReport makes a run's report from its summary and timeline (nil when
// it has none): report.html, the plots as SVG and PNG, the timeline as
// CSV and the run as a one-row runs.csv.
func RunReport(s *schema.Summary, tl *schema.Timeline, o Options) ([]File, error) {
	if s.Scenario == nil {
		c := *s
		c.Scenario = &scenarios.Scenario{Name: "?", Kind: "?"}
		s = &c
	}
	plots, files, err := renderAll(RunFigures(s, tl), o)
	if err != nil {
		return nil, err
	}
	var links []string
	if tl != nil {
		var b bytes.Buffer
		if err := TimelineCSV(&b, tl); err != nil {
			return nil, err
		}
		files = append(files, File{TimelineCSVFile, b.Bytes()})
	}
	var b bytes.Buffer
	if err := RunsCSV(&b, nil, []RunRow{{Dir: ".", Point: -1, Sum: s}}); err != nil {
		return nil, err
	}
	files = append(files, File{RunsCSVFile, b.Bytes()})
	links = append(links, "summary.json", "scenario.yaml", "timeline.ndjson")
	for _, f := range files {
		links = append(links, f.Name)
	}
	sys, rl := hostSettings(s)
	page := RunPage{Sum: s, Name: s.Scenario.Name, Settings: ScenarioSettings(s.Scenario), Sysctls: sys, Rlimits: rl,
		Text: textOf(s), Plots: plots, Files: links, Generated: generated(o.Version, o.Now)}
	var h bytes.Buffer
	if err := WriteRunPage(&h, page); err != nil {
		return nil, fmt.Errorf("report page: %w", err)
	}
	return append(files, File{PageFile, h.Bytes()}), nil
}

// SweepFigures are the figures of a sweep: time to failure against the
// setting, survival curves, merged latency and the errors of all runs.
func SweepFigures(sw *schema.SweepSummary, runs [][]*schema.Summary) []Figure {
	figs := []Figure{SweepFigure(sw, runs), SurvivalFigure(sw, runs)}
	if f, ok := SweepLatencyFigure(sw, runs); ok {
		figs = append(figs, f)
	}
	var t schema.Tally
	for _, rs := range runs {
		for _, r := range rs {
			if r != nil {
				t.AddSummary(r)
			}
		}
	}
	if f, ok := ErrorsFigure(sweepTitle(sw, "errors of all runs"), t.Errors()); ok {
		figs = append(figs, f)
	}
	return figs
}

// SweepReport makes a sweep's report from its summary and its runs'
// summaries (runs[i][j]: point i, repetition j+1; nil: not run):
// report.html, the plots as SVG and PNG, and runs.csv with one row per
// repetition. pages says which runs have a report.html of their own (the
// page links them); nil: none.
func SweepReport(sw *schema.SweepSummary, runs [][]*schema.Summary, pages map[string]bool, o Options) ([]File, error) {
	plots, files, err := renderAll(SweepFigures(sw, runs), o)
	if err != nil {
		return nil, err
	}
	var rows []RunRow
	var runRows []SweepRunRow
	for i, p := range sw.Points {
		for j, dir := range p.Dirs {
			var s *schema.Summary
			if i < len(runs) && j < len(runs[i]) {
				s = runs[i][j]
			}
			rows = append(rows, RunRow{Dir: dir, Point: p.Index, Rep: j + 1, Values: p.Values, Sum: s})
			rr := SweepRunRow{Point: p.Index, Label: PointLabel(sw, p), Rep: j + 1, Dir: dir, Status: "not run", Outcome: "-", HasPage: pages[dir]}
			if s != nil {
				rr.Status = s.Status
				if f := s.TimeToFailure; f != nil {
					rr.Outcome = fmt.Sprintf("%s at %s after %d ok", f.Class, secs(f.AtSec), f.OKBefore)
				} else {
					rr.Outcome, rr.Censored = "no failure in "+secs(s.ElapsedSec), true
				}
				for _, t := range s.Thresholds {
					if !t.Passed() {
						rr.Crossed++
					}
				}
			}
			runRows = append(runRows, rr)
		}
	}
	var b bytes.Buffer
	if err := RunsCSV(&b, sw.Axes, rows); err != nil {
		return nil, err
	}
	files = append(files, File{RunsCSVFile, b.Bytes()})
	links := []string{"summary.json", "summary.csv", "plan.json", "sweep.yaml"}
	for _, f := range files {
		links = append(links, f.Name)
	}
	var table bytes.Buffer
	_ = SweepTable(&table, sw)
	trend, lr := TrendText(sw, runs)
	page := SweepPage{Sweep: sw, Points: sweepRows(sw, runs), Trend: trend, LogRank: lr, Runs: runRows, Plots: plots,
		Files: links, Table: table.String(), Generated: generated(o.Version, o.Now),
		Thresholds: thresholdTallies(sw, runs), Hogs: hogs(sw, runs)}
	for _, rs := range runs {
		for _, r := range rs {
			if r != nil && page.Settings == nil {
				page.Settings = ScenarioSettings(r.Scenario)
			}
		}
	}
	var h bytes.Buffer
	if err := WriteSweepPage(&h, page); err != nil {
		return nil, fmt.Errorf("report page: %w", err)
	}
	return append(files, File{PageFile, h.Bytes()}), nil
}

// thresholdTallies counts, per threshold of the runs' scenarios, the runs
// of each point that passed it.
func thresholdTallies(sw *schema.SweepSummary, runs [][]*schema.Summary) []ThresholdTally {
	var names []string
	for _, rs := range runs {
		for _, r := range rs {
			if r == nil || r.Scenario == nil {
				continue
			}
			for _, t := range r.Scenario.Thresholds {
				if n := t.String(); !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	var out []ThresholdTally
	for _, n := range names {
		tt := ThresholdTally{Threshold: n}
		for i := range sw.Points {
			ok, all := 0, 0
			if i < len(runs) {
				for _, r := range runs[i] {
					if r == nil || r.Scenario == nil {
						continue
					}
					for k, t := range r.Scenario.Thresholds {
						if t.String() != n || k >= len(r.Thresholds) {
							continue
						}
						all++
						if r.Thresholds[k].Passed() {
							ok++
						} else {
							tt.Failed++
						}
					}
				}
			}
			tt.PerPoint = append(tt.PerPoint, fmt.Sprintf("%d/%d ok", ok, all))
		}
		out = append(out, tt)
	}
	return out
}

// hogs finds, per point, the dead-peer socket that held the most.
func hogs(sw *schema.SweepSummary, runs [][]*schema.Summary) []Hog {
	var out []Hog
	for i, p := range sw.Points {
		if i >= len(runs) {
			break
		}
		var best *Hog
		for j, r := range runs[i] {
			if r == nil || r.DeadPeer == nil || len(r.DeadPeer.Top) == 0 || j >= len(p.Dirs) {
				continue
			}
			if top := r.DeadPeer.Top[0]; best == nil || top.Queued > best.Socket.Queued {
				best = &Hog{Label: PointLabel(sw, p), Run: p.Dirs[j], Socket: top}
			}
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	return out
}
