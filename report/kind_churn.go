package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// churnText writes the churn lines.
func churnText(tw io.Writer, s *schema.Summary) {
	c := s.Churn
	if c == nil {
		return
	}
	peers := fmt.Sprintf("%d peers %s-%s", c.Peers, c.FirstPeer, c.LastPeer)
	if c.Peers == 1 {
		peers = "1 peer " + c.FirstPeer
	}
	fmt.Fprintf(tw, "churn\t%d connects (%.1f/s) to %s; closed %d by FIN, %d by RST; %d bursts; mean lifetime %s\n",
		c.Connects, c.ConnectsPerSec, peers, c.ClosedFIN, c.ClosedRST, c.Bursts, secs(c.MeanLifetimeSec))
	if g := c.SteadyOpen; g != nil {
		fmt.Fprintf(tw, "steady open\tmean %.1f, min %d, max %d (%s, second half of the run)\n", g.Mean, g.Min, g.Max, plural(g.Samples, "sample"))
	}
	fmt.Fprintf(tw, "bytes\tout %d, in %d\n", s.BytesOut, s.BytesIn)
}
