package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// orphanChurnText writes the orphan-churn lines: connections, bursts read
// to their end, and the orphans the kernel killed.
func orphanChurnText(tw io.Writer, s *schema.Summary) {
	r := s.OrphanChurn
	if r == nil {
		return
	}
	fmt.Fprintf(tw, "orphan churn\t%d connects to %d peers (%s–%s), %d bursts read to the end (mean %s), at most %d read at once\n",
		r.Connects, r.Peers, r.FirstPeer, r.LastPeer, r.Completed, secs(r.MeanReadSec), r.PeakReading)
	if r.FirstResetAtSec != nil {
		fmt.Fprintf(tw, "orphans killed\t%d reset before the burst's end, first at %s\n", r.OrphanResets, secs(*r.FirstResetAtSec))
	} else {
		fmt.Fprintf(tw, "orphans killed\tnone\n")
	}
	fmt.Fprintf(tw, "bytes\t%d asked, %d read\n", r.BytesAsked, r.BytesRead)
}
