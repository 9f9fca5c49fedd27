package stats

import (
	"fmt"
	"math"
)

// LTTB downsamples the series (x[i], y[i]) to at most n points with
// Largest-Triangle-Three-Buckets (S. Steinarsson, "Downsampling Time
// Series for Visual Representation", University of Iceland, 2013): the
// first and last points are kept, the others are split into n−2 buckets
// of (almost) equal count, and each bucket keeps the point that makes the
// largest triangle with the point kept in the previous bucket and the
// average of the next bucket, so spikes and dips survive where averaging
// would flatten them.
//
// It returns the indices of the kept points, increasing; with n ≥ len(x)
// that is every index. x must be non-decreasing (a timeline) and every
// value finite. n must be at least 2 (2 keeps only the endpoints). Time
// and memory are O(len(x)).
func LTTB(x, y []float64, n int) ([]int, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("lttb: %d x values, %d y values: %w", len(x), len(y), ErrLengthMismatch)
	}
	if n < 2 {
		return nil, fmt.Errorf("lttb: threshold %d < 2: %w", n, ErrBadArgument)
	}
	if err := checkFinite("x", x); err != nil {
		return nil, err
	}
	if err := checkFinite("y", y); err != nil {
		return nil, err
	}
	for i := 1; i < len(x); i++ {
		if x[i] < x[i-1] {
			return nil, fmt.Errorf("lttb: x[%d] = %v < x[%d] = %v, x must be non-decreasing: %w", i, x[i], i-1, x[i-1], ErrBadArgument)
		}
	}
	size := len(x)
	if n >= size {
		all := make([]int, size)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	out := make([]int, 0, n)
	out = append(out, 0)
	// Bucket b (0 ≤ b < n−2) holds indices [lo(b), lo(b+1)) of the
	// interior points 1..size−2 (integer arithmetic: lo(n−2) is exactly
	// size−1, and every bucket is non-empty since size > n).
	lo := func(b int) int { return 1 + b*(size-2)/(n-2) }
	a := 0 // the point kept in the previous bucket
	for b := 0; b < n-2; b++ {
		start, end := lo(b), lo(b+1)
		// The average of the next bucket; for the last bucket, the last point.
		nStart, nEnd := end, lo(b+2)
		if b == n-3 {
			nStart, nEnd = size-1, size
		}
		var avgX, avgY float64
		for i := nStart; i < nEnd; i++ {
			avgX += x[i]
			avgY += y[i]
		}
		cnt := float64(nEnd - nStart)
		avgX /= cnt
		avgY /= cnt
		best, bestArea := start, -1.0
		for i := start; i < end; i++ {
			// Twice the triangle's area; the factor does not change the pick.
			area := math.Abs((x[a]-avgX)*(y[i]-y[a]) - (x[a]-x[i])*(avgY-y[a]))
			if area > bestArea {
				best, bestArea = i, area
			}
		}
		out = append(out, best)
		a = best
	}
	return append(out, size-1), nil
}
