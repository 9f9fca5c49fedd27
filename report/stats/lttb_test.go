package stats

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"
)

// series returns x = 0..n−1 (a timeline at 1 s) and y = f(i).
func series(n int, f func(i int) float64) (x, y []float64) {
	x = make([]float64, n)
	y = make([]float64, n)
	for i := range n {
		x[i] = float64(i)
		y[i] = f(i)
	}
	return x, y
}

func TestLTTBProperties(t *testing.T) {
	wave := func(i int) float64 { return math.Sin(float64(i)/37) + 0.3*math.Sin(float64(i)/5) }
	for _, tt := range []struct{ size, n int }{
		{1000, 100}, {1000, 3}, {1000, 2}, {1000, 999}, {1000, 1000}, {1000, 5000},
		{3, 3}, {1, 2}, {0, 10}, {86400, 1200}, {10, 7},
	} {
		x, y := series(tt.size, wave)
		got, err := LTTB(x, y, tt.n)
		if err != nil {
			t.Fatalf("size %d, n %d: %v", tt.size, tt.n, err)
		}
		wantLen := min(tt.n, tt.size)
		if len(got) != wantLen {
			t.Errorf("size %d, n %d: got %d points, want %d", tt.size, tt.n, len(got), wantLen)
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("size %d, n %d: indices not strictly increasing: %v", tt.size, tt.n, got[:min(len(got), 10)])
		}
		if tt.size > 0 && (got[0] != 0 || got[len(got)-1] != tt.size-1) {
			t.Errorf("size %d, n %d: endpoints %d, %d, want 0, %d", tt.size, tt.n, got[0], got[len(got)-1], tt.size-1)
		}
		if tt.n >= tt.size {
			for i, v := range got {
				if v != i {
					t.Fatalf("size %d, n %d: not the identity at %d: %d", tt.size, tt.n, i, v)
				}
			}
		}
	}
}

// TestLTTBKeepsSpikes: a flat line with one spike (a queue that fills once
// in 24 h) keeps the spike, where every-k-th sampling or averaging would
// lose or flatten it; a dip as well.
func TestLTTBKeepsSpikes(t *testing.T) {
	for _, tt := range []struct {
		name        string
		size, n, at int
		value       float64
	}{
		{"spike mid-series", 86400, 300, 51234, 1000},
		{"dip", 86400, 300, 777, -50},
		{"spike, 3 points", 1000, 3, 421, 9},
		{"spike next to the end", 1000, 10, 998, 5},
	} {
		x, y := series(tt.size, func(i int) float64 {
			if i == tt.at {
				return tt.value
			}
			return 1
		})
		got, err := LTTB(x, y, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(got, tt.at) {
			t.Errorf("%s: spike at %d not kept: %v…", tt.name, tt.at, got[:min(len(got), 12)])
		}
	}
}

// TestLTTBSmall checks a hand-worked case: 5 points to 3 keeps the first,
// the last, and of the interior (one bucket, next = last point) the one
// farthest from the line from the first to the last point.
func TestLTTBSmall(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4}
	y := []float64{0, 1, 5, 2, 0}
	got, err := LTTB(x, y, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Equal x (two samples in the same second) are allowed.
	got, err = LTTB([]float64{0, 0, 1, 1, 2}, []float64{1, 3, 1, 1, 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 4}; !slices.Equal(got, want) {
		t.Errorf("repeated x: got %v, want %v", got, want)
	}
}

func TestLTTBErrors(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		n    int
		want error
	}{
		{"length mismatch", []float64{1, 2}, []float64{1}, 10, ErrLengthMismatch},
		{"threshold 1", []float64{1, 2, 3}, []float64{1, 2, 3}, 1, ErrBadArgument},
		{"threshold 0", []float64{1}, []float64{1}, 0, ErrBadArgument},
		{"decreasing x", []float64{1, 3, 2}, []float64{1, 2, 3}, 2, ErrBadArgument},
		{"NaN y", []float64{1, 2, 3}, []float64{1, math.NaN(), 3}, 2, ErrNotFinite},
		{"Inf x", []float64{1, 2, math.Inf(1)}, []float64{1, 2, 3}, 2, ErrNotFinite},
	}
	for _, tt := range tests {
		if _, err := LTTB(tt.x, tt.y, tt.n); !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
	}
}

// BenchmarkLTTB: a 24 h timeline at 1 s down to a plot's width.
func BenchmarkLTTB(b *testing.B) {
	x, y := series(86400, func(i int) float64 { return math.Sin(float64(i) / 300) })
	for _, n := range []int{500, 2000} {
		b.Run("86400to"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := LTTB(x, y, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
