package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// slowReaderText writes the slow-reader lines: what the clients read,
// when and how often the server gave up, and what it held meanwhile.
func slowReaderText(tw io.Writer, s *schema.Summary) {
	r := s.SlowReader
	if r == nil {
		return
	}
	fmt.Fprintf(tw, "slow reader\t%d connections, %d reads, %d bytes read; client receive queues peak %d bytes unread\n",
		r.Connections, r.Reads, r.BytesRead, r.ClientUnread)
	if r.FirstServerCloseAtSec != nil {
		fmt.Fprintf(tw, "server gave up\t%d connections, first at %s, after %s on average\n", r.ServerClosed, secs(*r.FirstServerCloseAtSec), secs(r.MeanLifeSec))
	} else {
		fmt.Fprintf(tw, "server gave up\tnever: every connection was still open at the end\n")
	}
	if q := r.ServerQueued; q != nil {
		fmt.Fprintf(tw, "server queued\tpeak %d bytes in %d send queues at %s, mean %d over %s\n",
			q.Peak, q.Sockets, secs(q.PeakAtSec), q.Mean, plural(q.Samples, "sample"))
	}
}
