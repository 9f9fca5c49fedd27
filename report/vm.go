package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nobufs/nobufs/schema"
)

// vmText writes the lines of a run in a VM guest: what it booted with,
// what its kernel sized from that, what it said about TCP memory, how it
// ended and how long each stage took.
func vmText(tw io.Writer, s *schema.Summary) {
	v := s.VM
	if v == nil {
		return
	}
	g := v.Guest
	clock := ""
	if g.Clocksource != "" {
		clock = ", clock " + g.Clocksource
	}
	fmt.Fprintf(tw, "vm\t%d MiB (%s, %s%s), kernel %s (%s %s)\n", v.MemoryMiB, v.Accel, v.Machine, clock, g.Release, v.Kernel.Package, v.Kernel.Version)
	fmt.Fprintf(tw, "\tMemTotal %d kB; tcp_mem %d %d %d pages (max %.1f MiB); tcp_rmem max %d, tcp_wmem max %d; tcp_max_orphans %d\n",
		g.MemTotalKB, g.TCPMem[0], g.TCPMem[1], g.TCPMem[2], float64(g.TCPMemMaxBytes)/(1<<20), g.TCPRmem[2], g.TCPWmem[2], g.TCPMaxOrphans)
	for _, n := range sortedKeys(v.Sysctls) {
		fmt.Fprintf(tw, "\t%s = %s\n", n, v.Sysctls[n])
	}
	fmt.Fprintf(tw, "\tboot %s, run %s, teardown %s; qemu ended: %s\n", secs(v.BootSec), secs(v.RunSec), secs(v.TeardownSec), vmExit(v))
	if d := v.Died; d != nil {
		fmt.Fprintf(tw, "guest died\t%s at %s: %s\n", d.Class, secs(d.AtSec), d.Line)
	}
	for _, e := range v.Events {
		fmt.Fprintf(tw, "guest kernel\t%s: %d, first at %s: %s\n", e.Kind, e.Count, secs(e.FirstAtSec), e.First)
	}
	if len(v.Counters) > 0 || v.PeakTCPMemPages > 0 {
		names := make([]string, 0, len(v.Counters))
		for n := range v.Counters {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(n, "TcpExt."), v.Counters[n]))
		}
		line := fmt.Sprintf("peak TCP memory %d pages, %d orphans", v.PeakTCPMemPages, v.PeakOrphans)
		if len(parts) > 0 {
			line += "; " + strings.Join(parts, ", ")
		}
		fmt.Fprintf(tw, "guest counters\t%s\n", line)
	}
	if v.Missing > 0 || v.Corrupt > 0 {
		fmt.Fprintf(tw, "guest records\t%d received, %d missing, %d corrupt\n", v.Records, v.Missing, v.Corrupt)
	}
}

func vmExit(v *schema.VMReport) string {
	if v.ExitReason != "" {
		return v.Exit + " (" + v.ExitReason + ")"
	}
	return v.Exit
}
