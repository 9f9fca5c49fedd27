package schema

import (
	"errors"
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds, the same in every run and every version that writes
// schema 2: microseconds from 1 µs to 10 minutes, 3 significant figures.
// Equal bounds are what make two runs' histograms merge exactly.
const (
	HistMinUS  = 1
	HistMaxUS  = int64(10 * time.Minute / time.Microsecond)
	HistDigits = 3
)

// NewHist returns an empty histogram with the schema's bounds. A
// histogram is not safe for concurrent use: give each worker its own and
// merge them once at the end.
func NewHist() *hdrhistogram.Histogram { return hdrhistogram.New(HistMinUS, HistMaxUS, HistDigits) }

// Record adds one duration to h, clamped to the bounds.
func Record(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(d.Microseconds(), HistMinUS), HistMaxUS)) // in range by construction
}

// Latency summarises one histogram, in microseconds, and carries the
// histogram itself (HDR) so that runs merge exactly: percentiles of a
// merged set cannot be computed from percentiles.
type Latency struct {
	Count uint64  `json:"count"`
	Min   int64   `json:"min_us"`
	Mean  float64 `json:"mean_us"`
	P50   int64   `json:"p50_us"`
	P90   int64   `json:"p90_us"`
	P99   int64   `json:"p99_us"`
	P999  int64   `json:"p999_us"`
	Max   int64   `json:"max_us"`
	// HDR is the histogram in HdrHistogram's V2 compressed encoding,
	// base64 (the interchange format HdrHistogram libraries in other
	// languages read), with the bounds above; absent in schema 1 results
	// and when Count is 0.
	HDR string `json:"hdr,omitempty"`
}

// ErrNoHistogram is returned by Latency.Hist for a latency recorded
// without its histogram (schema 1 results).
var ErrNoHistogram = errors.New("no histogram recorded (schema 1 results keep percentiles only)")

// LatencyOf summarises h and encodes it.
func LatencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	l := Latency{
		Count: uint64(h.TotalCount()),
		Min:   h.Min(),
		Mean:  h.Mean(),
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		Max:   h.Max(),
	}
	if b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		l.HDR = string(b)
	}
	return l
}

// Hist decodes the latency's histogram. An empty latency gives an empty
// histogram; one without HDR gives ErrNoHistogram.
func (l Latency) Hist() (*hdrhistogram.Histogram, error) {
	if l.Count == 0 {
		return NewHist(), nil
	}
	if l.HDR == "" {
		return nil, ErrNoHistogram
	}
	h, err := hdrhistogram.Decode([]byte(l.HDR))
	if err != nil {
		return nil, fmt.Errorf("latency histogram: %w", err)
	}
	if h.LowestTrackableValue() != HistMinUS || h.HighestTrackableValue() != HistMaxUS || h.SignificantFigures() != HistDigits {
		return nil, fmt.Errorf("latency histogram: bounds %d–%d µs, %d digits, want %d–%d µs, %d digits",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), HistMinUS, HistMaxUS, HistDigits)
	}
	if uint64(h.TotalCount()) != l.Count {
		return nil, fmt.Errorf("latency histogram holds %d values, the summary says %d", h.TotalCount(), l.Count)
	}
	return h, nil
}

// MergeLatency merges latencies of the same measurement from several runs
// (segments of one run, repetitions) into one, exactly: their histograms
// are added and the percentiles recomputed.
func MergeLatency(ls ...Latency) (Latency, error) {
	all := NewHist()
	for _, l := range ls {
		h, err := l.Hist()
		if err != nil {
			return Latency{}, err
		}
		if dropped := all.Merge(h); dropped > 0 {
			return Latency{}, fmt.Errorf("merge latency histograms: %d values out of bounds", dropped)
		}
	}
	return LatencyOf(all), nil
}
