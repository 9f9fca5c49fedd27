package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// halfOpenText writes the half-open lines.
func halfOpenText(tw io.Writer, s *schema.Summary) {
	h := s.HalfOpen
	if h == nil {
		return
	}
	fmt.Fprintf(tw, "half-open\t%d connects started (%.1f/s), %d completed; pending peak %d, held peak %d", h.Started, h.StartsPerSec, h.Completed, h.PendingPeak, h.HeldPeak)
	if h.AcceptQueue != nil && h.AcceptBacklog != nil {
		fmt.Fprintf(tw, "; target accept queue %d (backlog %d)", *h.AcceptQueue, *h.AcceptBacklog)
	}
	fmt.Fprintln(tw)
	if g := h.PendingPlateau; g != nil {
		fmt.Fprintf(tw, "pending plateau\tmean %.1f, min %d, max %d (%s, second half of the run)\n", g.Mean, g.Min, g.Max, plural(g.Samples, "sample"))
	}
	for i, o := range h.Outcomes {
		label := ""
		if i == 0 {
			label = "connect outcomes"
		}
		fmt.Fprintf(tw, "%s\t%s: %d, after %s (min %s, max %s)\n", label, o.Class, o.Count, secs(o.MeanSec), secs(o.MinSec), secs(o.MaxSec))
	}
}
