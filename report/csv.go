package report

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"

	"github.com/nobufs/nobufs/schema"
)

func ftoa(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// TimelineCSV writes a timeline as CSV, one row per sample: the counters
// of the interval and the gauges at its end, one column per error class
// seen, and — when recorded — the host state (TCP sockets per state,
// socket memory, every counter that moved, qdisc drops and backlog, the
// harness's descriptors) and the kind's numeric gauges. A value a sample
// lacks is 0.
func TimelineCSV(w io.Writer, tl *schema.Timeline) error {
	c := columns(tl)
	cw := csv.NewWriter(w)
	hdr := []string{"seq", "elapsed_sec", "issued", "ok", "failed", "dropped", "open", "peak_open", "bytes_out", "bytes_in"}
	type col struct {
		name string
		v    []float64
	}
	var extra []col
	for _, k := range c.classes {
		extra = append(extra, col{"errors_" + k, perSecondToCount(c.classRate[k], c.dt)})
	}
	if c.hasTCP {
		for _, st := range tcpStates {
			if v, ok := c.tcp[st]; ok {
				extra = append(extra, col{"tcp_" + st, v})
			}
		}
	}
	for _, k := range []string{"tcp_mem_pages", "udp_mem_pages"} {
		if v, ok := c.mem[k]; ok {
			extra = append(extra, col{k, v})
		}
	}
	for _, k := range sortedCols(c.counters) {
		extra = append(extra, col{"counter_" + k, perSecondToCount(c.counters[k], c.dt)})
	}
	for _, k := range sortedCols(c.queued) {
		extra = append(extra, col{"queued_" + k, c.queued[k]})
	}
	for _, k := range sortedCols(c.gauges) {
		extra = append(extra, col{"gauge_" + k, c.gauges[k]})
	}
	for _, e := range extra {
		hdr = append(hdr, e.name)
	}
	if err := cw.Write(hdr); err != nil {
		return err
	}
	u := func(x uint64) string { return strconv.FormatUint(x, 10) }
	for i, s := range tl.Samples {
		row := []string{strconv.Itoa(s.Seq), ftoa(s.Elapsed), u(s.Issued), u(s.OK), u(s.Failed), u(s.Dropped),
			strconv.FormatInt(s.Open, 10), strconv.FormatInt(s.PeakOpen, 10), u(s.BytesOut), u(s.BytesIn)}
		for _, e := range extra {
			row = append(row, ftoa(e.v[i]))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// perSecondToCount turns a per-second column back into counts per sample.
func perSecondToCount(rate, dt []float64) []float64 {
	out := make([]float64, len(rate))
	for i := range rate {
		out[i] = float64(int64(rate[i]*dt[i] + 0.5))
	}
	return out
}

// RunRow is one run of a runs table: its summary and where it is.
type RunRow struct {
	// Dir is the run directory (relative to the table's own directory).
	Dir string
	// Point and Values place the run in a sweep (Point −1: not in one).
	Point  int
	Rep    int
	Values []string
	Sum    *schema.Summary
}

// RunsCSV writes one row per run: its place, status, operations, time to
// failure (empty: none), connect and operation latency percentiles (µs)
// and how many thresholds did not pass. axes names a sweep's value
// columns (nil for runs outside a sweep).
func RunsCSV(w io.Writer, axes []string, rows []RunRow) error {
	cw := csv.NewWriter(w)
	var hdr []string
	if axes != nil {
		hdr = append(hdr, "point", "repetition")
		hdr = append(hdr, axes...)
	}
	hdr = append(hdr, "dir", "scenario", "status", "stop_reason", "elapsed_sec", "issued", "ok", "failed", "aborted", "dropped", "peak_open",
		"ttf_sec", "ttf_class", "ttf_phase", "ttf_code", "ok_before",
		"connect_p50_us", "connect_p90_us", "connect_p99_us", "connect_max_us", "op_p50_us", "op_p99_us", "op_max_us",
		"thresholds", "thresholds_failed")
	if err := cw.Write(hdr); err != nil {
		return err
	}
	u := func(x uint64) string { return strconv.FormatUint(x, 10) }
	i64 := func(x int64) string { return strconv.FormatInt(x, 10) }
	for _, r := range rows {
		var row []string
		if axes != nil {
			row = append(row, strconv.Itoa(r.Point), strconv.Itoa(r.Rep))
			vals := slices.Clone(r.Values)
			for len(vals) < len(axes) {
				vals = append(vals, "")
			}
			row = append(row, vals[:len(axes)]...)
		}
		s := r.Sum
		if s == nil {
			row = append(row, r.Dir, "", "not run")
			for len(row) < len(hdr) {
				row = append(row, "")
			}
			if err := cw.Write(row); err != nil {
				return err
			}
			continue
		}
		name := ""
		if s.Scenario != nil {
			name = s.Scenario.Name
		}
		row = append(row, r.Dir, name, s.Status, s.StopReason, ftoa(s.ElapsedSec), u(s.Ops.Issued), u(s.Ops.OK), u(s.Ops.Failed),
			u(s.Ops.Aborted), u(s.Ops.Dropped), i64(s.PeakOpen))
		if f := s.TimeToFailure; f != nil {
			row = append(row, ftoa(f.AtSec), string(f.Class), string(f.Phase), strconv.Itoa(f.Code), u(f.OKBefore))
		} else {
			row = append(row, "", "", "", "", "")
		}
		lat := func(l schema.Latency, vs ...int64) {
			for _, v := range vs {
				if l.Count == 0 {
					row = append(row, "")
				} else {
					row = append(row, i64(v))
				}
			}
		}
		c, o := s.Latency["connect"], s.Latency["op"]
		lat(c, c.P50, c.P90, c.P99, c.Max)
		lat(o, o.P50, o.P99, o.Max)
		failed := 0
		for _, t := range s.Thresholds {
			if !t.Passed() {
				failed++
			}
		}
		row = append(row, strconv.Itoa(len(s.Thresholds)), strconv.Itoa(failed))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
