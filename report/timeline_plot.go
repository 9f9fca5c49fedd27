package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nobufs/nobufs/report/stats"
	"github.com/nobufs/nobufs/schema"
)

// MaxPoints is how many points a timeline series keeps at most: longer
// series are downsampled with LTTB, which keeps spikes and dips.
const MaxPoints = 1200

// timeAxis picks the unit of a timeline's x axis for a run of length sec.
func timeAxis(sec float64) (div float64, label string) {
	switch {
	case sec > 3*3600:
		return 3600, "time since start (h)"
	case sec > 3*60:
		return 60, "time since start (min)"
	}
	return 1, "time since start (s)"
}

// series builds a line from parallel x, y, downsampled to MaxPoints; a
// series that is zero throughout is dropped when dropZero is set.
func series(label string, x, y []float64, dropZero bool) (Series, bool) {
	if len(x) == 0 {
		return Series{}, false
	}
	if dropZero && !slices.ContainsFunc(y, func(v float64) bool { return v != 0 }) {
		return Series{}, false
	}
	if len(x) > MaxPoints {
		idx, err := stats.LTTB(x, y, MaxPoints)
		if err == nil {
			nx, ny := make([]float64, len(idx)), make([]float64, len(idx))
			for i, j := range idx {
				nx[i], ny[i] = x[j], y[j]
			}
			x, y = nx, ny
		}
	}
	kind := SeriesLine
	if len(x) < 3 { // too few to see as a line: markers too
		kind = SeriesPoints
	}
	return Series{Label: label, Kind: kind, X: x, Y: y, Color: -1}, true
}

// timelineCols is the timeline turned into columns: one value per sample.
type timelineCols struct {
	t, dt                          []float64
	open, peak                     []float64
	okRate, failRate, dropRate     []float64
	classRate                      map[string][]float64
	classes                        []string
	tcp                            map[string][]float64
	mem                            map[string][]float64
	queued                         map[string][]float64
	counters                       map[string][]float64
	gauges                         map[string][]float64
	topQueued                      map[string][]float64
	hasHost, hasTCP, hasExtraQueue bool
}

// tcpStates are the TCP states drawn, in order; listen is left out (the
// target's own listener).
var tcpStates = []string{"established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close_wait", "last_ack", "closing", "close"}

// queueGauges are the kinds' gauges in bytes, drawn on the queued-bytes
// panel, with their legend.
var queueGauges = map[string]string{
	"queued_bytes":  "send queues, all sockets (dead-peer)",
	"server_queued": "target's send queues (server side)",
	"client_unread": "clients' receive queues, unread",
}

// otherGauges lists kind gauges not drawn as counts: in bytes (above),
// or structured (top), or flags.
var otherGauges = map[string]bool{"top": true, "diagnostics": true, "bytes_read": true}

func columns(tl *schema.Timeline) *timelineCols {
	n := len(tl.Samples)
	c := &timelineCols{
		classRate: map[string][]float64{}, tcp: map[string][]float64{}, mem: map[string][]float64{},
		queued: map[string][]float64{}, counters: map[string][]float64{}, gauges: map[string][]float64{},
		topQueued: map[string][]float64{},
	}
	col := func(m map[string][]float64, k string) []float64 {
		v := m[k]
		if v == nil {
			v = make([]float64, n)
			m[k] = v
		}
		return v
	}
	prev := 0.0
	for i, s := range tl.Samples {
		dt := s.Elapsed - prev
		if dt <= 0 {
			dt = 1
		}
		prev = s.Elapsed
		c.t = append(c.t, s.Elapsed)
		c.dt = append(c.dt, dt)
		c.open = append(c.open, float64(s.Open))
		c.peak = append(c.peak, float64(max(s.PeakOpen, s.Open)))
		c.okRate = append(c.okRate, float64(s.OK)/dt)
		c.failRate = append(c.failRate, float64(s.Failed)/dt)
		c.dropRate = append(c.dropRate, float64(s.Dropped)/dt)
		for _, e := range s.Errors {
			col(c.classRate, string(e.Class))[i] += float64(e.N) / dt
		}
		if h, ok := s.Host.(map[string]any); ok {
			c.hasHost = true
			if tcp, ok := h["tcp"].(map[string]any); ok {
				c.hasTCP = true
				for _, st := range tcpStates {
					if v, ok := schema.Number(tcp[st]); ok {
						col(c.tcp, st)[i] = v
					}
				}
			}
			if ss, ok := h["sockstat"].(map[string]any); ok {
				for _, k := range []string{"tcp_mem_pages", "udp_mem_pages"} {
					if v, ok := schema.Number(ss[k]); ok {
						col(c.mem, k)[i] = v
					}
				}
			}
			if cs, ok := h["counters"].(map[string]any); ok {
				for k, raw := range cs {
					if v, ok := schema.Number(raw); ok {
						col(c.counters, k)[i] = v / dt
					}
				}
			}
			if qs, ok := h["qdiscs"].([]any); ok {
				var drops, backlog float64
				for _, q := range qs {
					if qm, ok := q.(map[string]any); ok {
						d, _ := schema.Number(qm["drops"])
						b, _ := schema.Number(qm["backlog_bytes"])
						drops, backlog = drops+d, backlog+b
					}
				}
				if drops > 0 {
					col(c.counters, "qdisc drops")[i] = drops / dt
				}
				if backlog > 0 {
					col(c.queued, "qdisc backlog")[i] = backlog
				}
			}
			if v, ok := schema.Number(h["fds"]); ok {
				col(c.gauges, "harness descriptors (fds)")[i] = v
			}
		}
		for k, raw := range s.Extra {
			if _, ok := queueGauges[k]; ok {
				if v, ok := schema.Number(raw); ok {
					col(c.queued, queueGauges[k])[i] = v
					c.hasExtraQueue = true
				}
				continue
			}
			if k == "top" {
				if top, ok := raw.([]any); ok {
					for _, e := range top {
						if em, ok := e.(map[string]any); ok {
							q, _ := schema.Number(em["queued"])
							name := fmt.Sprintf("%v → %v", em["local"], em["remote"])
							col(c.topQueued, name)[i] = q
						}
					}
				}
				continue
			}
			if otherGauges[k] {
				continue
			}
			if v, ok := schema.Number(raw); ok {
				col(c.gauges, k)[i] = v
			}
		}
	}
	for k := range c.classRate {
		c.classes = append(c.classes, k)
	}
	slices.Sort(c.classes)
	return c
}

// failureMarks are the vertical lines of a run's timeline: the time to
// failure and the faults a cell injected.
func failureMarks(s *schema.Summary, div float64) []Mark {
	var ms []Mark
	if f := s.TimeToFailure; f != nil {
		ms = append(ms, Mark{X: f.AtSec / div, Kind: "failure",
			Label: fmt.Sprintf("time to failure %s: %s (%s)", secsLabel(f.AtSec), f.Class, f.Phase)})
	}
	if c := s.Cell; c != nil {
		for _, f := range c.Faults {
			ms = append(ms, Mark{X: f.AtSec / div, Kind: "event", Label: "fault " + f.Action})
		}
	}
	return ms
}

func scaled(x []float64, div float64) []float64 {
	if div == 1 {
		return x
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v / div
	}
	return out
}

// TimelineFigure is the data of a run's timeline: open connections,
// operations per second, errors per second by class, the time to failure
// marked; with host state, TCP sockets per state (TIME_WAIT among them),
// socket memory, queued bytes and the kernel counters that moved (the
// server side's signals: listen overflows, buffer errors, qdisc drops);
// and the kind's own gauges. Empty panels are left out.
func TimelineFigure(s *schema.Summary, tl *schema.Timeline) Figure {
	c := columns(tl)
	div, xl := timeAxis(s.ElapsedSec)
	x := scaled(c.t, div)
	marks := failureMarks(s, div)
	fig := Figure{Name: "timeline", Title: title(s, "timeline"),
		Caption: "One point per timeline sample (per second unless sampled otherwise); the red dashed line is the time to failure."}
	if len(c.t) > MaxPoints {
		fig.Caption += fmt.Sprintf(" %d samples, each series downsampled to %d points (LTTB keeps peaks and dips).", len(c.t), MaxPoints)
	}
	xr := &[2]float64{0, math.Max(s.ElapsedSec, lastOf(c.t)) / div}
	panel := func(t, yl, unit string) Panel {
		return Panel{Title: t, XLabel: xl, YLabel: yl, XScale: ScaleLinear, YScale: ScaleLinear, YUnit: unit, Marks: marks, XRange: xr}
	}
	add := func(p *Panel, label string, y []float64, dropZero bool) {
		if sr, ok := series(label, x, y, dropZero); ok {
			sr.Color = len(p.Series)
			p.Series = append(p.Series, sr)
		}
	}
	// A rate over the last, short interval (the run ended a few
	// milliseconds after the previous sample) is noise; gauges keep it.
	rx, keep := rateSamples(x, c.dt)
	addRate := func(p *Panel, label string, y []float64, dropZero bool) {
		if sr, ok := series(label, rx, pick(y, keep), dropZero); ok {
			sr.Color = len(p.Series)
			p.Series = append(p.Series, sr)
		}
	}
	conn := panel("client connections open", "connections", "")
	add(&conn, "open at the sample", c.open, false)
	add(&conn, "most open during the interval", c.peak, true)
	fig.Panels = append(fig.Panels, conn)

	ops := panel("operations per second", "operations/s", "")
	addRate(&ops, "ok/s", c.okRate, false)
	addRate(&ops, "failed/s", c.failRate, true)
	addRate(&ops, "dropped arrivals/s", c.dropRate, true)
	fig.Panels = append(fig.Panels, ops)

	if len(c.classes) > 0 {
		errs := panel("errors per second, by class", "errors/s", "")
		for _, k := range c.classes {
			addRate(&errs, k, c.classRate[k], false)
		}
		fig.Panels = append(fig.Panels, errs)
	}
	where := "host"
	if s.Cell != nil {
		where = "client cell " + s.Cell.ClientNS
	}
	if c.hasTCP {
		tcp := panel("TCP sockets by state ("+where+")", "sockets", "")
		for _, st := range tcpStates {
			add(&tcp, strings.ToUpper(st), c.tcp[st], true)
		}
		logIfSpread(&tcp)
		if len(tcp.Series) > 0 {
			fig.Panels = append(fig.Panels, tcp)
		}
	}
	if len(c.mem) > 0 {
		mem := panel("socket memory ("+where+", /proc/net/sockstat)", "pages", "")
		add(&mem, "TCP memory", c.mem["tcp_mem_pages"], true)
		add(&mem, "UDP memory", c.mem["udp_mem_pages"], true)
		if len(mem.Series) > 0 {
			fig.Panels = append(fig.Panels, mem)
		}
	}
	if len(c.queued) > 0 {
		q := panel("queued bytes", "bytes", UnitBytes)
		for _, k := range sortedCols(c.queued) {
			add(&q, k, c.queued[k], true)
		}
		if len(q.Series) > 0 {
			fig.Panels = append(fig.Panels, q)
		}
	}
	if len(c.counters) > 0 {
		cp := panel("kernel counters that moved, per second (server-side signals)", "events/s", "")
		for _, k := range topCols(c.counters, 8) {
			addRate(&cp, k, c.counters[k], true)
		}
		if len(cp.Series) > 0 {
			fig.Panels = append(fig.Panels, cp)
		}
	}
	if len(c.gauges) > 0 {
		kind := "run"
		if s.Scenario != nil {
			kind = s.Scenario.Kind
		}
		g := panel(kind+" gauges (timeline extra)", "count", "")
		for _, k := range sortedCols(c.gauges) {
			add(&g, k, c.gauges[k], true)
		}
		if len(g.Series) > 0 {
			fig.Panels = append(fig.Panels, g)
		}
	}
	return fig
}

// DeadPeerFigure is the data of the dead-peer plot: bytes queued per
// socket over time for the sockets that held the most (each sample
// records its top three), and in all. ok is false when the timeline has
// no per-socket queues (another kind, or an OS where they cannot be read).
func DeadPeerFigure(s *schema.Summary, tl *schema.Timeline) (Figure, bool) {
	c := columns(tl)
	if len(c.topQueued) == 0 {
		return Figure{}, false
	}
	div, xl := timeAxis(s.ElapsedSec)
	x := scaled(c.t, div)
	p := Panel{Title: "bytes queued per socket (the sockets that held the most)", XLabel: xl, YLabel: "send queue (SIOCOUTQ)",
		XScale: ScaleLinear, YScale: ScaleLinear, YUnit: UnitBytes, Marks: failureMarks(s, div),
		XRange: &[2]float64{0, math.Max(s.ElapsedSec, lastOf(c.t)) / div}}
	const maxSockets = 6
	for i, k := range topCols(c.topQueued, maxSockets) {
		if sr, ok := series(k, x, c.topQueued[k], true); ok {
			sr.Color = i
			p.Series = append(p.Series, sr)
		}
	}
	if all, ok := c.queued[queueGauges["queued_bytes"]]; ok {
		if sr, ok := series("all sockets together", x, all, true); ok {
			sr.Color = 7
			p.Series = append(p.Series, sr)
		}
	}
	return Figure{Name: "deadpeer", Title: title(s, "dead peers"), Panels: []Panel{p},
		Caption: fmt.Sprintf("Each sample records the three sockets holding the most; the %d that held the most at any sample are drawn (0 where a socket was not among the top three).", min(maxSockets, len(c.topQueued)))}, true
}

// rateSamples drops, from the x of per-second rates, the samples whose
// interval is under a quarter of the median one (the run's last, cut
// short), unless that leaves none.
func rateSamples(x, dt []float64) ([]float64, []bool) {
	keep := make([]bool, len(x))
	if len(dt) == 0 {
		return x, keep
	}
	med := schema.StatOf(dt).Median
	var out []float64
	for i := range x {
		keep[i] = dt[i] >= med/4
		if keep[i] {
			out = append(out, x[i])
		}
	}
	if len(out) == 0 {
		for i := range keep {
			keep[i] = true
		}
		return x, keep
	}
	return out, keep
}

func pick(y []float64, keep []bool) []float64 {
	out := make([]float64, 0, len(y))
	for i, v := range y {
		if keep[i] {
			out = append(out, v)
		}
	}
	return out
}

// logIfSpread puts a panel on a log y axis when its series' peaks differ
// by two decades or more (100,000 TIME_WAIT sockets of the host beside
// the run's few established ones).
func logIfSpread(p *Panel) {
	lo, hi := math.Inf(1), 0.0
	for _, s := range p.Series {
		peak := slices.Max(s.Y)
		if peak > 0 {
			lo, hi = math.Min(lo, peak), math.Max(hi, peak)
		}
	}
	if hi/lo >= 100 {
		p.YScale = ScaleLog
	}
}

func lastOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)-1]
}

func sortedCols(m map[string][]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// topCols returns the n columns with the largest peak, largest first.
func topCols(m map[string][]float64, n int) []string {
	ks := sortedCols(m)
	peak := func(k string) float64 {
		p := 0.0
		for _, v := range m[k] {
			p = math.Max(p, v)
		}
		return p
	}
	slices.SortStableFunc(ks, func(a, b string) int { return cmp.Compare(peak(b), peak(a)) })
	return ks[:min(n, len(ks))]
}
