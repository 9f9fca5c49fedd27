package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// holdText writes the hold lines.
func holdText(tw io.Writer, s *schema.Summary) {
	h := s.Hold
	if h == nil {
		return
	}
	all := "not all opened"
	if h.AllOpenSec > 0 {
		all = "all open after " + secs(h.AllOpenSec)
	}
	fmt.Fprintf(tw, "hold\t%d of %d opened to %d peers %s-%s (%s); peak %d held, %d at the end\n",
		h.Opened, h.Wanted, h.Peers, h.FirstPeer, h.LastPeer, all, h.PeakHeld, h.HeldAtEnd)
	fmt.Fprintf(tw, "server ended\t%d by FIN, %d by RST\n", h.ClosedByServer, h.ResetByServer)
	if h.UserBytesPerConn > 0 {
		fmt.Fprintf(tw, "user memory\t%.0f bytes per held connection (resident %d → %d KiB)\n", h.UserBytesPerConn, h.RSSBeforeBytes>>10, h.RSSAllOpenBytes>>10)
	}
}
