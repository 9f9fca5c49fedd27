package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// portText writes the port-exhaustion lines: the source range and what it gave.
func portText(tw io.Writer, s *schema.Summary) {
	p := s.PortExhaustion
	if p == nil {
		return
	}
	rng := "system range"
	if p.RangeSize > 0 {
		rng = fmt.Sprintf("%d-%d (%d ports)", p.Low, p.High, p.RangeSize)
	}
	before := "no failure"
	if p.ConnectsBeforeFailure != nil {
		before = fmt.Sprintf("%d connects before failure", *p.ConnectsBeforeFailure)
	}
	fmt.Fprintf(tw, "source ports\t%s via %s: %s", rng, p.Method, before)
	if p.RecoveredAtSec != nil {
		fmt.Fprintf(tw, ", connects succeeded again at %s", secs(*p.RecoveredAtSec))
	}
	fmt.Fprintln(tw)
}
