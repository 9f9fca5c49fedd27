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
	var rng string
	switch {
	case p.RangeSize > 0:
		rng = fmt.Sprintf("%d-%d (%d ports) via %s", p.Low, p.High, p.RangeSize, p.Method)
	case s.Settings.Sysctls["net.ipv4.ip_local_port_range"] != "":
		rng = "the system's range (net.ipv4.ip_local_port_range " + s.Settings.Sysctls["net.ipv4.ip_local_port_range"] + ")"
	default:
		rng = "the system's range"
	}
	before := "no failure"
	if p.ConnectsBeforeFailure != nil {
		before = fmt.Sprintf("%d connects before failure", *p.ConnectsBeforeFailure)
	}
	fmt.Fprintf(tw, "source ports\t%s: %s", rng, before)
	if p.RecoveredAtSec != nil {
		fmt.Fprintf(tw, ", connects succeeded again at %s", secs(*p.RecoveredAtSec))
	}
	fmt.Fprintln(tw)
}
