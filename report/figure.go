package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// A Figure is the data behind one picture: a title and panels stacked
// top to bottom, each with its axes, series and marks. The functions that
// make figures (TimelineFigure, SweepFigure…) are pure functions of
// results files, so their output is what the tests compare with golden
// files; Render only draws it.
type Figure struct {
	// Name is the file name without extension (timeline → timeline.svg).
	Name  string `json:"name"`
	Title string `json:"title"`
	// Caption says in a sentence what the figure shows (the HTML page
	// prints it under the picture).
	Caption string  `json:"caption"`
	Panels  []Panel `json:"panels"`
}

// Axis scales of a panel.
const (
	ScaleLinear = "linear"
	ScaleLog    = "log"
	// ScaleNines is a latency percentile axis: x is −log10(1−q), so 90 %,
	// 99 %, 99.9 % are evenly spaced; its ticks say the percentile.
	ScaleNines = "nines"
	// ScaleCategory places values at 0, 1, 2… with the panel's Ticks as
	// their labels (sweep settings, error classes).
	ScaleCategory = "category"
)

// Units a panel's y values may be in, for tick labels.
const (
	UnitBytes   = "bytes"
	UnitSeconds = "seconds"
)

// Panel is one plot of a figure.
type Panel struct {
	Title  string `json:"title"`
	XLabel string `json:"x_label"`
	YLabel string `json:"y_label"`
	XScale string `json:"x_scale"`
	YScale string `json:"y_scale"`
	// XUnit and YUnit make tick labels readable ("64 KiB", "250ms").
	XUnit string `json:"x_unit,omitempty"`
	YUnit string `json:"y_unit,omitempty"`
	// Legend is where the legend goes: "" (top right), "top-left",
	// "bottom-left", "bottom-right".
	Legend string `json:"legend,omitempty"`
	// Ticks label the x positions of a category axis.
	Ticks []string `json:"ticks,omitempty"`
	// XRange, when set, is the x axis's extent (a timeline: 0 to the
	// run's end, also when it has a single sample).
	XRange *[2]float64 `json:"x_range,omitempty"`
	Series []Series    `json:"series"`
	// Marks are vertical lines: the time to failure, injected faults.
	Marks []Mark `json:"marks,omitempty"`
}

// Series kinds.
const (
	SeriesLine = "line"
	// SeriesStep is a post-step line (Kaplan–Meier curves).
	SeriesStep = "step"
	// SeriesPoints are filled markers joined by a line, with whiskers from
	// YLow to YHigh when they are given.
	SeriesPoints = "points"
	// SeriesOpen are open markers with their Notes as labels: what did not
	// happen within a bound (runs that never failed).
	SeriesOpen = "open"
	// SeriesCensor are small crosses on a curve where runs were censored.
	SeriesCensor = "censor"
	// SeriesBars are bars at the category positions, grouped with the
	// panel's other bar series.
	SeriesBars = "bars"
)

// Series is one line, set of markers or set of bars.
type Series struct {
	Label string    `json:"label"`
	Kind  string    `json:"kind"`
	X     []float64 `json:"x"`
	Y     []float64 `json:"y"`
	// YLow and YHigh are whiskers per point (min–max), for points.
	YLow  []float64 `json:"y_low,omitempty"`
	YHigh []float64 `json:"y_high,omitempty"`
	// Notes label each point (open markers).
	Notes []string `json:"notes,omitempty"`
	// Color indexes the palette, so that a setting keeps its color from
	// one panel or figure to the next; -1 picks by position.
	Color int `json:"color"`
}

// Mark is a vertical line at X with a label.
type Mark struct {
	X     float64 `json:"x"`
	Label string  `json:"label"`
	// Kind is "failure" (red, dashed) or "event" (grey, dotted).
	Kind string `json:"kind"`
}

// palette is Okabe and Ito's colour-blind safe set, then darker greys.
var palette = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{230, 159, 0, 255},   // orange
	{0, 158, 115, 255},   // bluish green
	{204, 121, 167, 255}, // reddish purple
	{86, 180, 233, 255},  // sky blue
	{213, 94, 0, 255},    // vermillion
	{240, 228, 66, 255},  // yellow
	{0, 0, 0, 255},       // black
	{120, 120, 120, 255},
	{170, 170, 170, 255},
}

var failureRed = color.RGBA{200, 0, 0, 255}

func colorAt(i int) color.Color { return palette[((i%len(palette))+len(palette))%len(palette)] }

// Figure sizes: the width, and the height of one panel.
const (
	figWidth    = 9 * vg.Inch
	panelHeight = 3.2 * vg.Inch
	titleHeight = 0.55 * vg.Inch
)

// ErrEmptyFigure is returned by Render for a figure without panels.
var ErrEmptyFigure = errors.New("figure has no panels")

// Render draws fig as "svg" or "png" (96 dpi).
func Render(fig Figure, format string) ([]byte, error) {
	if len(fig.Panels) == 0 {
		return nil, fmt.Errorf("%s: %w", fig.Name, ErrEmptyFigure)
	}
	lines := strings.Count(fig.Title, "\n") + 1
	head := titleHeight * vg.Length(lines) / 2
	w, h := figWidth, panelHeight*vg.Length(len(fig.Panels))+head
	var c vg.CanvasWriterTo
	switch format {
	case "svg":
		c = vgsvg.New(w, h)
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))}
	default:
		return nil, fmt.Errorf("format %q: want svg or png", format)
	}
	dc := draw.New(c)
	// The figure's title across the top.
	title := plot.New().Title.TextStyle
	title.Font.Size = vg.Points(13)
	title.XAlign, title.YAlign = draw.XCenter, draw.YTop
	dc.FillText(title, vg.Point{X: w / 2, Y: h - vg.Points(6)}, fig.Title)
	body := dc
	body.Max.Y -= head
	plots := make([][]*plot.Plot, len(fig.Panels))
	for i, p := range fig.Panels {
		pl, err := buildPlot(p)
		if err != nil {
			return nil, fmt.Errorf("%s panel %q: %w", fig.Name, p.Title, err)
		}
		plots[i] = []*plot.Plot{pl}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(6), PadRight: vg.Points(10), PadY: vg.Points(14)}
	canvases := plot.Align(plots, tiles, body)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// buildPlot makes the gonum plot of one panel.
func buildPlot(p Panel) (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Title.TextStyle.Font.Size = vg.Points(11)
	pl.X.Label.Text, pl.Y.Label.Text = p.XLabel, p.YLabel
	pl.Legend.Top = p.Legend == "" || p.Legend == "top-left"
	pl.Legend.Left = p.Legend == "top-left" || p.Legend == "bottom-left"
	pl.Legend.TextStyle.Font.Size = vg.Points(9)
	pl.Legend.ThumbnailWidth = vg.Points(16)
	logX, logY := p.XScale == ScaleLog, p.YScale == ScaleLog
	keep := func(x, y float64) bool {
		return finite(x) && finite(y) && (!logX || x > 0) && (!logY || y > 0)
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	pl.Add(grid)

	var bars []Series
	for i, s := range p.Series {
		c := colorAt(i)
		if s.Color >= 0 {
			c = colorAt(s.Color)
		}
		if s.Kind == SeriesBars {
			bars = append(bars, s)
			continue
		}
		xys := make(plotter.XYs, 0, len(s.X))
		var lows, highs []float64
		var notes []string
		for j := range s.X {
			if j >= len(s.Y) || !keep(s.X[j], s.Y[j]) {
				continue
			}
			xys = append(xys, plotter.XY{X: s.X[j], Y: s.Y[j]})
			if j < len(s.YLow) && j < len(s.YHigh) {
				lo, hi := s.YLow[j], s.YHigh[j]
				if logY {
					lo = math.Max(lo, s.Y[j]*1e-9)
				}
				lows, highs = append(lows, s.Y[j]-lo), append(highs, hi-s.Y[j])
			}
			if j < len(s.Notes) {
				notes = append(notes, s.Notes[j])
			}
		}
		if len(xys) == 0 {
			continue
		}
		switch s.Kind {
		case SeriesLine, SeriesStep:
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = c, vg.Points(1.3)
			if s.Kind == SeriesStep {
				l.StepStyle = plotter.PostStep
				l.Width = vg.Points(1.8)
			}
			pl.Add(l)
			if s.Label != "" {
				pl.Legend.Add(s.Label, l)
			}
		case SeriesPoints:
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = c, vg.Points(1.2)
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
			pl.Add(l, sc)
			if len(lows) == len(xys) {
				eb, err := plotter.NewYErrorBars(whiskers{xys, lows, highs})
				if err != nil {
					return nil, err
				}
				eb.Color, eb.Width, eb.CapWidth = c, vg.Points(1.2), vg.Points(8)
				pl.Add(eb)
			}
			if s.Label != "" {
				pl.Legend.Add(s.Label, l, sc)
			}
		case SeriesOpen:
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(5), Shape: draw.RingGlyph{}}
			pl.Add(sc)
			if len(notes) == len(xys) {
				lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: notes})
				if err != nil {
					return nil, err
				}
				for k := range lb.TextStyle {
					lb.TextStyle[k].Font.Size = vg.Points(8)
					lb.TextStyle[k].Color = c
					lb.TextStyle[k].YAlign = draw.YBottom
					lb.TextStyle[k].XAlign = draw.XCenter
				}
				lb.Offset = vg.Point{Y: vg.Points(7)}
				pl.Add(lb)
			}
			if s.Label != "" {
				pl.Legend.Add(s.Label, sc)
			}
		case SeriesCensor:
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(4), Shape: draw.PlusGlyph{}}
			pl.Add(sc)
			if s.Label != "" {
				pl.Legend.Add(s.Label, sc)
			}
		default:
			return nil, fmt.Errorf("series %q: unknown kind %q", s.Label, s.Kind)
		}
	}
	if err := addBars(pl, bars, logY); err != nil {
		return nil, err
	}
	for _, m := range p.Marks {
		if !finite(m.X) || (logX && m.X <= 0) {
			continue
		}
		addMark(pl, m)
	}
	setScales(pl, p)
	return pl, nil
}

// addBars draws bar series side by side at each category position.
func addBars(pl *plot.Plot, bars []Series, logY bool) error {
	if len(bars) == 0 {
		return nil
	}
	w := vg.Points(float64(min(28, 220/len(bars))))
	for i, s := range bars {
		vals := make(plotter.Values, len(s.Y))
		for j, y := range s.Y {
			if !finite(y) || (logY && y <= 0) {
				y = 0
			}
			vals[j] = y
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		c := colorAt(i)
		if s.Color >= 0 {
			c = colorAt(s.Color)
		}
		b.Color, b.LineStyle.Width = c, 0
		b.Offset = w * vg.Length(float64(i)-float64(len(bars)-1)/2)
		pl.Add(b)
		if s.Label != "" {
			pl.Legend.Add(s.Label, b)
		}
	}
	return nil
}

// addMark adds a vertical line over the panel's y range at m.X.
func addMark(pl *plot.Plot, m Mark) {
	pl.Add(vline{m})
	if m.Label != "" {
		pl.Legend.Add(m.Label, vline{m})
	}
}

// vline is a vertical line across the data area; it does not change the
// data range in y.
type vline struct{ m Mark }

func (v vline) style() draw.LineStyle {
	if v.m.Kind == "failure" {
		return draw.LineStyle{Color: failureRed, Width: vg.Points(1.4), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	}
	return draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(1.5), vg.Points(2.5)}}
}

func (v vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.m.X)
	c.StrokeLine2(v.style(), x, c.Min.Y, x, c.Max.Y)
}

func (v vline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return v.m.X, v.m.X, math.Inf(1), math.Inf(-1)
}

// Thumbnail draws the legend entry.
func (v vline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(v.style(), c.Min.X, y, c.Max.X, y)
}

// whiskers gives YErrorBars its points and asymmetric errors.
type whiskers struct {
	plotter.XYs
	low, high []float64
}

func (w whiskers) YError(i int) (float64, float64) { return w.low[i], w.high[i] }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// setScales applies the panel's scales and tick labels.
func setScales(pl *plot.Plot, p Panel) {
	switch p.XScale {
	case ScaleLog:
		pl.X.Scale, pl.X.Tick.Marker = plot.LogScale{}, unitTicks{inner: plot.LogTicks{Prec: -1}, unit: p.XUnit}
	case ScaleLinear:
		pl.X.Tick.Marker = unitTicks{inner: plot.DefaultTicks{}, unit: p.XUnit}
	case ScaleNines:
		pl.X.Tick.Marker = ninesTicks{}
		pl.X.Min = 0
	case ScaleCategory:
		ts := make(plot.ConstantTicks, len(p.Ticks))
		for i, t := range p.Ticks {
			ts[i] = plot.Tick{Value: float64(i), Label: t}
		}
		pl.X.Tick.Marker = ts
		pl.X.Min, pl.X.Max = -0.6, float64(len(p.Ticks))-0.4
		if len(p.Ticks) > 6 {
			pl.X.Tick.Label.Rotation = math.Pi / 6
			pl.X.Tick.Label.XAlign, pl.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
		}
	}
	if r := p.XRange; r != nil && r[1] > r[0] && p.XScale != ScaleLog {
		pl.X.Min, pl.X.Max = math.Min(pl.X.Min, r[0]), math.Max(pl.X.Max, r[1])
		if math.IsInf(pl.X.Min, 0) || math.IsInf(pl.X.Max, 0) {
			pl.X.Min, pl.X.Max = r[0], r[1]
		}
	}
	if p.YScale == ScaleLog {
		pl.Y.Scale, pl.Y.Tick.Marker = plot.LogScale{}, unitTicks{inner: plot.LogTicks{Prec: -1}, unit: p.YUnit}
		if !(pl.Y.Min > 0) || math.IsInf(pl.Y.Min, 0) {
			pl.Y.Min, pl.Y.Max = 1, 10
		}
		// Room for labels above the highest marker.
		pl.Y.Max *= 1.6
		return
	}
	pl.Y.Tick.Marker = unitTicks{inner: plot.DefaultTicks{}, unit: p.YUnit}
	if p.YUnit == UnitBytes {
		pl.Y.Tick.Marker = unitTicks{inner: binaryTicks{}, unit: p.YUnit}
	}
	if pl.Y.Min > 0 {
		pl.Y.Min = 0
	}
	if math.IsInf(pl.Y.Min, 0) || math.IsInf(pl.Y.Max, 0) || pl.Y.Max <= pl.Y.Min {
		pl.Y.Min, pl.Y.Max = 0, 1
	}
	pl.Y.Max += (pl.Y.Max - pl.Y.Min) * 0.12 // headroom for the legend and labels
	if math.IsInf(pl.X.Min, 0) || math.IsInf(pl.X.Max, 0) {
		pl.X.Min, pl.X.Max = 0, 1
	}
}

// ninesTicks labels a nines axis with percentiles: 0 → 0 %, 1 → 90 %,
// 2 → 99 %…
type ninesTicks struct{}

func (ninesTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := []plot.Tick{{Value: 0, Label: "0%"}, {Value: math.Log10(2), Label: "50%"}}
	for n := 1; float64(n) <= hi+1e-9 && n <= 9; n++ {
		ts = append(ts, plot.Tick{Value: float64(n), Label: ninesLabel(n)})
	}
	return ts
}

// ninesLabel is the percentile of n nines: 1 → 90%, 3 → 99.9%.
func ninesLabel(n int) string {
	if n == 1 {
		return "90%"
	}
	return "99." + strings.Repeat("9", n-2) + "%"
}

// unitTicks relabels another ticker's major ticks in a unit.
type unitTicks struct {
	inner plot.Ticker
	unit  string
}

func (u unitTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := u.inner.Ticks(lo, hi)
	if u.unit == "" {
		return ts
	}
	for i := range ts {
		if ts[i].Label == "" {
			continue
		}
		switch u.unit {
		case UnitBytes:
			ts[i].Label = bytesLabel(ts[i].Value)
		case UnitSeconds:
			ts[i].Label = secondsLabel(ts[i].Value)
		}
	}
	return ts
}

// binaryTicks places ticks at multiples of a power of two (8 MiB, 16 MiB
// …), so byte labels come out round.
type binaryTicks struct{}

func (binaryTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	step := math.Pow(2, math.Ceil(math.Log2((hi-lo)/5)))
	if step < 1 {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi && len(ts) < 50; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: "x"})
		if minor := v + step/2; minor < hi {
			ts = append(ts, plot.Tick{Value: minor})
		}
	}
	return ts
}

// bytesLabel writes a byte count with a binary prefix: 512 B, 64 KiB, 4 MiB.
func bytesLabel(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + " " + units[i]
}

// secondsLabel writes seconds as 250ms, 1.5s, 2m.
func secondsLabel(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a < 1e-3:
		return strconv.FormatFloat(math.Round(v*1e8)/100, 'f', -1, 64) + "µs"
	case a < 1:
		return strconv.FormatFloat(math.Round(v*1e5)/100, 'f', -1, 64) + "ms"
	case a < 120:
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) + "s"
	case a < 7200:
		return strconv.FormatFloat(math.Round(v/60*100)/100, 'f', -1, 64) + "m"
	}
	return strconv.FormatFloat(math.Round(v/3600*100)/100, 'f', -1, 64) + "h"
}
