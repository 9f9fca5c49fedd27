// Package report holds pure functions over results: the text summary of a
// run, tables and comparisons. Nothing here touches the network.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nobufs/nobufs/schema"
)

// Text writes a short human summary of a run.
func Text(w io.Writer, s *schema.Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	name := ""
	if s.Scenario != nil {
		name = s.Scenario.Name
	}
	fmt.Fprintf(tw, "scenario\t%s (%s)\n", name, kindOf(s))
	fmt.Fprintf(tw, "status\t%s, stopped by %s after %s\n", s.Status, stopPhrase(s.StopReason), secs(s.ElapsedSec))
	fmt.Fprintf(tw, "target\t%s %s\n", s.Target.Mode, s.Target.Address)
	fmt.Fprintf(tw, "ops\tissued %d, ok %d, failed %d, aborted %d, dropped %d\n", s.Ops.Issued, s.Ops.OK, s.Ops.Failed, s.Ops.Aborted, s.Ops.Dropped)
	if f := s.TimeToFailure; f != nil {
		fmt.Fprintf(tw, "time to failure\t%s: %s at op #%d, after %d ok (%s, %s)\n", secs(f.AtSec), f.Class, f.Op, f.OKBefore, f.Phase, codeString(f.Code, f.Name))
	} else {
		fmt.Fprintf(tw, "time to failure\tnone (no error of class %s)\n", failClasses(s))
	}
	for i, e := range s.Errors {
		label := ""
		if i == 0 {
			label = "errors"
		}
		fmt.Fprintf(tw, "%s\t%s/%s %s: %d, first at %s (op #%d)\n", label, e.Phase, e.Class, codeString(e.Code, e.Name), e.Count, secs(e.FirstAt), e.FirstOp)
	}
	if l, ok := s.Latency["connect"]; ok && l.Count > 0 {
		fmt.Fprintf(tw, "connect\tp50 %s, p90 %s, p99 %s, max %s (%d)\n", us(l.P50), us(l.P90), us(l.P99), us(l.Max), l.Count)
	}
	if c := s.Cell; c != nil {
		fmt.Fprintf(tw, "cell\t%s: client %s, target %s; set up in %.1f ms\n", c.Name, c.ClientAddr, c.TargetAddr, c.SetupMs)
		for _, side := range []string{"client", "target"} {
			for _, n := range sortedKeys(c.Sysctls[side]) {
				fmt.Fprintf(tw, "\t%s %s = %s\n", side, n, c.Sysctls[side][n])
			}
		}
		if c.Shaping != "" {
			fmt.Fprintf(tw, "\t%s\n", c.Shaping)
		}
		for _, f := range c.Faults {
			res := "injected"
			if f.Error != "" {
				res = "failed: " + f.Error
			}
			fmt.Fprintf(tw, "\tfault %s at %s: %s\n", f.Action, secs(f.AtSec), res)
		}
	}
	fmt.Fprintf(tw, "peak open\t%d connections\n", s.PeakOpen)
	if p := s.PortExhaustion; p != nil {
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
	if p := s.Prediction; p != nil {
		if p.Resource == "none" || p.Resource == "unknown" {
			fmt.Fprintf(tw, "predicted\t%s: %s\n", p.Resource, p.Detail)
		} else {
			fmt.Fprintf(tw, "predicted\t%s (%s) %s\n", p.Resource, p.Class, p.Detail)
		}
	}
	if c := s.Churn; c != nil {
		fmt.Fprintf(tw, "churn\t%d connects (%.1f/s) to %d peers %s-%s; closed %d by FIN, %d by RST; %d bursts; mean lifetime %s\n",
			c.Connects, c.ConnectsPerSec, c.Peers, c.FirstPeer, c.LastPeer, c.ClosedFIN, c.ClosedRST, c.Bursts, secs(c.MeanLifetimeSec))
		if g := c.SteadyOpen; g != nil {
			fmt.Fprintf(tw, "steady open\tmean %.1f, min %d, max %d (%s, second half of the run)\n", g.Mean, g.Min, g.Max, plural(g.Samples, "sample"))
		}
		fmt.Fprintf(tw, "bytes\tout %d, in %d\n", s.BytesOut, s.BytesIn)
	}
	if h := s.HalfOpen; h != nil {
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
	if d := s.DeadPeer; d != nil {
		deadPeerText(tw, s, d)
	}
	if u := s.UDPPush; u != nil {
		fmt.Fprintf(tw, "datagrams\t%d sent of %d bytes, %d ENOBUFS, IP_RECVERR %s", u.Sent, u.Size, u.ENOBUFS, onOff(u.RecvErr))
		if s.Target.Datagrams > 0 {
			fmt.Fprintf(tw, "; the sink received %d", s.Target.Datagrams)
		}
		fmt.Fprintln(tw)
	}
	for _, u := range s.Unmet {
		fmt.Fprintf(tw, "unmet\t%s\n", u)
	}
	return tw.Flush()
}

func kindOf(s *schema.Summary) string {
	if s.Scenario == nil {
		return "?"
	}
	return s.Scenario.Kind
}

func failClasses(s *schema.Summary) string {
	if s.Scenario == nil || len(s.Scenario.Failure.Classes) == 0 {
		return "counted as failure"
	}
	return strings.Join(s.Scenario.Failure.Classes, ", ")
}

func codeString(code int, name string) string {
	switch {
	case name != "":
		return fmt.Sprintf("code %d %s", code, name)
	case code != 0:
		return fmt.Sprintf("code %d", code)
	}
	return "no code"
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

func us(v int64) string { return (time.Duration(v) * time.Microsecond).String() }

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

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// stopPhrase says what a stop reason means, for "stopped by …".
func stopPhrase(reason string) string {
	switch reason {
	case schema.StopDuration:
		return "stop.duration"
	case schema.StopMaxOps:
		return "stop.max_ops"
	case schema.StopStagesDone:
		return "the end of load.stages"
	case schema.StopInterrupted:
		return "an interrupt"
	}
	return reason // failure, error, and whatever a newer version wrote
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
