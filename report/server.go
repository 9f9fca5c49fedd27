package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nobufs/nobufs/schema"
)

// queueCounters are the counters of a listener's queues, printed in the
// text summary when they moved (the rest are in summary.json).
var queueCounters = []string{
	"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPReqQFullDrop", "TcpExt.TCPReqQFullDoCookies",
	"TcpExt.SyncookiesSent", "TcpExt.SyncookiesFailed", "TcpExt.TCPAbortOnMemory", "TcpExt.TCPMemoryPressures",
}

// serverText writes the lines of the server's side: the launched
// program, what the connections said and heard, and what the watchers saw.
func serverText(tw io.Writer, s *schema.Summary) {
	programText(tw, s.Target.Program)
	repliesText(tw, s.Replies)
	if w := s.Watch; w != nil {
		procText(tw, w.Proc)
		if w.Logs != nil {
			matchesText(tw, "server log", w.Logs.Matches)
		}
		if k := w.Kernel; k != nil {
			matchesText(tw, "kernel log", k.Matches)
		}
		if l := w.Listen; l != nil && l.Samples > 0 {
			fmt.Fprintf(tw, "listener\t%s accept queue peak %d at %s (backlog %d; full in %d of %s)\n", l.Addr, l.PeakQueue,
				secs(l.PeakQueueAtSec), l.Backlog, l.FullSamples, plural(l.Samples, "sample"))
		}
		sideText(tw, w.TargetSide)
		probeText(tw, w.Probe)
	}
}

func programText(tw io.Writer, p *schema.ProgramInfo) {
	if p == nil {
		return
	}
	name := p.Server
	if name == "" && len(p.Argv) > 0 {
		name = p.Argv[0]
	}
	fmt.Fprintf(tw, "program\t%s, pid %d", name, p.PID)
	if p.NoFile > 0 {
		fmt.Fprintf(tw, ", nofile %d", p.NoFile)
	}
	fmt.Fprintf(tw, ", ready in %s", secs(p.ReadyMs/1000))
	if p.Netns != "" {
		fmt.Fprintf(tw, ", in %s", p.Netns)
	}
	fmt.Fprintln(tw)
	if p.Version != "" {
		fmt.Fprintf(tw, "\t%s\n", p.Version)
	}
	if len(p.Params) > 0 {
		var kv []string
		for _, k := range sortedKeys(p.Params) {
			if v := p.Params[k]; v != "" {
				kv = append(kv, k+"="+v)
			}
		}
		if len(kv) > 0 {
			fmt.Fprintf(tw, "\t%s\n", strings.Join(kv, " "))
		}
	}
	fmt.Fprintf(tw, "\toutput %s, %s", p.Stdout, p.Stderr)
	if e := p.Exit; e != nil && e.DuringRun {
		fmt.Fprintf(tw, "; ended during the run: %s", exitString(e))
	}
	fmt.Fprintln(tw)
	if p.StopError != "" {
		fmt.Fprintf(tw, "\tstop: %s\n", p.StopError)
	}
}

func exitString(e *schema.ProgramExit) string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

func repliesText(tw io.Writer, r *schema.RepliesReport) {
	if r == nil {
		return
	}
	what := "payload"
	if r.Greeting != "" {
		what = r.Greeting
	}
	fmt.Fprintf(tw, "replies\t%s sent %d, %d replies, %d without a reply\n", what, r.Sent, r.Replies, r.Empty)
	for _, l := range r.Lines {
		fmt.Fprintf(tw, "\t%d× \"%s\"\n", l.Count, l.Line) // escaped by workers/wire already
	}
	if r.OtherLines > 0 {
		fmt.Fprintf(tw, "\t%d× other lines\n", r.OtherLines)
	}
	if len(r.Classes) > 0 {
		var cs []string
		for _, c := range r.Classes {
			cs = append(cs, fmt.Sprintf("%s %d", c.Class, c.Count))
		}
		fmt.Fprintf(tw, "\tclasses: %s\n", strings.Join(cs, ", "))
	}
}

func procText(tw io.Writer, p *schema.ProcReport) {
	if p == nil {
		return
	}
	if f := p.AtFailure; f != nil {
		fmt.Fprintf(tw, "server at failure\t%s\n", procLine(f))
	}
	fmt.Fprintf(tw, "server process\t%s pid %d: fds peak %d/%d at %s, rss peak %s, threads peak %d (%s)", p.Comm, p.PID,
		p.PeakFDs, p.NoFile, secs(p.PeakFDsAtSec), bytesIEC(p.PeakRSS), p.PeakThreads, plural(p.Samples, "sample"))
	if p.Gone != "" {
		fmt.Fprintf(tw, "; gone: %s", p.Gone)
	}
	fmt.Fprintln(tw)
}

// procLine is one reading: "fds 38/64 (pid 12 redis-server) at 3.46ms, established 31, …".
func procLine(f *schema.ProcState) string {
	out := fmt.Sprintf("fds %d/%d (pid %d %s) at %s", f.FDs, f.NoFile, f.PID, f.Comm, secs(f.AtSec))
	for _, st := range []string{"established", "syn_recv", "close_wait", "time_wait", "listen"} {
		if n := f.TCP[st]; n > 0 {
			out += fmt.Sprintf(", %s %d", st, n)
		}
	}
	return out
}

func matchesText(tw io.Writer, label string, ms []schema.LogMatch) {
	for i, m := range ms {
		l := ""
		if i == 0 {
			l = label
		}
		fmt.Fprintf(tw, "%s\t%s ×%d, first at %s: %q\n", l, m.Class, m.Count, secs(m.FirstAtSec), cut(m.FirstLine, 160))
	}
}

func sideText(tw io.Writer, t *schema.TargetSideReport) {
	if t == nil {
		return
	}
	var cs []string
	for _, c := range queueCounters {
		if n := t.Counters[c]; n > 0 {
			cs = append(cs, fmt.Sprintf("%s %d", strings.TrimPrefix(c, "TcpExt."), n))
		}
	}
	where := "the server's namespace"
	if t.Netns == "" {
		where = "this host"
	}
	if len(cs) > 0 {
		fmt.Fprintf(tw, "counters\t%s (%s, over the run)\n", strings.Join(cs, ", "), where)
	}
	if n := t.PeakTCP["syn_recv"]; n > 0 {
		fmt.Fprintf(tw, "syn queue\t%d SYN_RECV at most (%s)\n", n, where)
	}
}

func probeText(tw io.Writer, p *schema.ProbeReport) {
	if p == nil {
		return
	}
	fmt.Fprintf(tw, "probe\t%d of %d ok every %s", p.OK, p.Probes, secs(p.EverySec))
	if p.Latency.Count > 0 {
		fmt.Fprintf(tw, ", p50 %s, max %s", us(p.Latency.P50), us(p.Latency.Max))
	}
	var os []string
	for _, o := range p.Outcomes {
		if o.Class != "ok" {
			os = append(os, fmt.Sprintf("%s %d", o.Class, o.Count))
		}
	}
	if len(os) > 0 {
		fmt.Fprintf(tw, "; failed: %s", strings.Join(os, ", "))
	}
	fmt.Fprintln(tw)
	switch {
	case p.UnavailableFromSec != nil:
		fmt.Fprintf(tw, "\tservice unavailable from t=%s to the end\n", secs(*p.UnavailableFromSec))
	case p.FirstFailureAtSec != nil:
		fmt.Fprintf(tw, "\tservice unavailable at times, first at t=%s (%s), available at the end\n", secs(*p.FirstFailureAtSec), plural(len(p.Outages), "outage"))
	}
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func bytesIEC(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
