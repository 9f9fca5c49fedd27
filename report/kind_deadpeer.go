package report

import (
	"fmt"
	"io"

	"github.com/nobufs/nobufs/schema"
)

// deadPeerSectionText writes the dead-peer lines of a summary that has them.
func deadPeerSectionText(tw io.Writer, s *schema.Summary) {
	if d := s.DeadPeer; d != nil {
		deadPeerText(tw, s, d)
	}
}

// deadPeerText writes the dead-peer lines: blocked writes, the total
// queued, the sockets holding the most, and what the reaper did.
func deadPeerText(tw io.Writer, s *schema.Summary, d *schema.DeadPeerReport) {
	bufs := "kernel default"
	if s.Socket.EffectiveSndBuf > 0 {
		bufs = fmt.Sprintf("SO_SNDBUF %d, SO_RCVBUF %d (effective)", s.Socket.EffectiveSndBuf, s.Socket.EffectiveRcvBuf)
	}
	fmt.Fprintf(tw, "dead peer\t%d connections, %d blocked writes; %s\n", d.Connections, d.BlockedWrites, bufs)
	if !d.Diagnostics {
		fmt.Fprintf(tw, "queued\tper-socket send queues are not readable on this OS\n")
		return
	}
	fmt.Fprintf(tw, "queued\tpeak %d bytes in all send queues at %s, mean %d over %d measurements\n",
		d.PeakQueuedTotal, secs(d.PeakQueuedAtSec), d.MeanQueuedTotal, d.Measurements)
	for i, t := range d.Top {
		label := ""
		if i == 0 {
			label = "top sockets"
		}
		fmt.Fprintf(tw, "%s\t%s -> %s: queued %d, unacked %d, notsent %d, snd_wnd %d, %s (%s)\n",
			label, t.Local, t.Remote, t.Queued, t.Unacked, t.NotSent, t.SndWnd, t.State, t.End)
	}
	if r := d.Reaper; r != nil {
		fmt.Fprintf(tw, "reaper\tbound %d bytes: %d sockets reaped, %d bytes freed\n", r.MaxQueued, r.Reaped, r.FreedBytes)
	}
}
