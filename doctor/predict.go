package doctor

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/scenarios"
)

// Resources a prediction names.
const (
	ResPorts   = "ports"
	ResFDs     = "fds"
	ResBacklog = "backlog"
	ResMemory  = "memory"
	ResNone    = "none"
	ResUnknown = "unknown"
)

// timeWaitHold is how long a TIME_WAIT socket holds its port on Linux.
const timeWaitHold = 60.0 // seconds

// runFDs is what a run opens besides its connections: timeline and
// summary files, the built-in target's listener, the host-state sampler's
// two netlink sockets and some slack.
const runFDs = 6

// models is the table of kinds doctor has a model for: each lists the
// resources a scenario of the kind may exhaust on a host. A kind without
// one is predicted "unknown".
var models = map[string]func(sc *scenarios.Scenario, h *Host) []schema.PredictedLimit{
	scenarios.KindPortExhaustion: predictPort,
}

// Predict says where sc is expected to fail first on h, and after how
// many successful operations. Every resource considered is listed in
// Limits; the first one reached within the run's bounds is the answer.
func Predict(sc *scenarios.Scenario, h *Host) schema.Prediction {
	model := models[sc.Kind]
	if model == nil {
		return schema.Prediction{Resource: ResUnknown, Detail: fmt.Sprintf("no model for kind %s yet", sc.Kind), Limits: []schema.PredictedLimit{}}
	}
	lims := model(sc, h)
	sortLimits(lims)
	p := schema.Prediction{Resource: ResNone, Limits: lims}
	bound, boundWhy := opsBound(sc)
	var first *schema.PredictedLimit
	for i := range lims {
		l := &lims[i]
		if l.AfterOps == nil || *l.AfterOps >= bound {
			continue
		}
		if first == nil || *l.AfterOps < *first.AfterOps {
			first = l
		}
	}
	if first == nil {
		p.Detail = "no limit is reached before the run ends (" + boundWhy + ")"
		return p
	}
	p.Resource, p.Class, p.AfterOps, p.Detail = first.Resource, first.Class, *first.AfterOps, first.Detail
	return p
}

// opsBound is how many operations the run can issue at most, and why.
func opsBound(sc *scenarios.Scenario) (uint64, string) {
	n, why := float64(sc.Stop.MaxOps), fmt.Sprintf("stop.max_ops %d", sc.Stop.MaxOps)
	if sc.Load.Model == scenarios.ModelOpen {
		var ops float64
		if len(sc.Load.Stages) > 0 {
			prev := sc.Load.Rate
			for _, st := range sc.Load.Stages {
				ops += (prev + st.Target) / 2 * st.Duration.D().Seconds()
				prev = st.Target
			}
			why = fmt.Sprintf("stages issue about %.0f operations", ops)
		} else {
			ops = sc.Load.Rate * sc.Stop.Duration.D().Seconds()
			why = fmt.Sprintf("%g/s for %s: about %.0f operations", sc.Load.Rate, sc.Stop.Duration, ops)
		}
		if ops < n {
			n = ops
		} else {
			why = fmt.Sprintf("stop.max_ops %d", sc.Stop.MaxOps)
		}
	}
	return uint64(math.Ceil(n)), why
}

// peakRate is the open model's highest arrival rate; +Inf for the closed
// model (a closed loop connects as fast as the host lets it).
func peakRate(sc *scenarios.Scenario) float64 {
	if sc.Load.Model != scenarios.ModelOpen {
		return math.Inf(1)
	}
	r := sc.Load.Rate
	for _, st := range sc.Load.Stages {
		r = max(r, st.Target)
	}
	return r
}

func u64(n int64) *uint64 {
	v := uint64(max(n, 0))
	return &v
}

func predictPort(sc *scenarios.Scenario, h *Host) []schema.PredictedLimit {
	p := sc.PortExhaustion
	client, target := h, h
	if c := sc.Cell; c != nil {
		client, target = inCell(h, c.Client), inCell(h, c.Target)
	}
	return []schema.PredictedLimit{portLimit(sc, p, client), fdLimit(sc, h), backlogLimit(sc, target), {
		Resource: ResMemory,
		Detail:   fmt.Sprintf("not reached: at most %d short connections open, %d bytes each way", sc.Load.Workers, p.Exchange),
	}}
}

// inCell is h as seen from one side of a lab cell: a fresh namespace,
// where no socket holds a port yet and the side's cell sysctls replace the
// host's (a sysctl the cell does not set is still taken as the host's).
func inCell(h *Host, side scenarios.CellSide) *Host {
	c := *h
	c.BusyPorts = map[uint16]int{}
	c.Sysctls = make(map[string]string, len(h.Sysctls)+len(side.Sysctls))
	maps.Copy(c.Sysctls, h.Sysctls)
	for n, v := range side.Sysctls {
		c.Sysctls[n] = strings.Join(strings.Fields(string(v)), " ")
	}
	return &c
}

func portLimit(sc *scenarios.Scenario, p *scenarios.PortExhaustion, h *Host) schema.PredictedLimit {
	l := schema.PredictedLimit{Resource: ResPorts, Class: "eaddrnotavail"}
	if p.CloseFirst == scenarios.CloseServer {
		l.Detail = "not reached: the server closes first, so TIME_WAIT holds the server's side, not the client's ports"
		return l
	}
	sysLo, sysHi, sysOK := h.portRange()
	lo, hi, ranged := p.PortRange()
	method := p.Method
	var rangeDesc string
	switch {
	case ranged:
		rangeDesc = fmt.Sprintf("source_ports %d-%d", lo, hi)
		inside := sysOK && sysLo <= int64(lo) && int64(hi) <= sysHi
		if method == scenarios.PortMethodAuto {
			method = scenarios.PortMethodBind
			if h.PortRangeOption && inside {
				method = scenarios.PortMethodOption
			}
		}
	case sysOK:
		lo, hi = int(sysLo), int(sysHi)
		rangeDesc = fmt.Sprintf("ip_local_port_range %d-%d", lo, hi)
		method = scenarios.PortMethodOption // the kernel picks the port
	default:
		l.Class, l.Detail = "", "unknown: the port range could not be read"
		return l
	}
	size := int64(hi - lo + 1)
	// Explicit binds collide with the range's TIME_WAIT sockets for the
	// full 60 s; ports the kernel picks at connect can reuse a TIME_WAIT
	// with tcp_tw_reuse (1; 2 = loopback destinations only) after
	// tcp_tw_reuse_delay.
	hold, holdWhy := timeWaitHold, "TIME_WAIT 60 s"
	if method == scenarios.PortMethodBind {
		l.Class = "eaddrinuse"
		holdWhy += ", bind cannot reuse it"
	} else {
		reuse, _ := h.sysInt("net.ipv4.tcp_tw_reuse")
		if reuse == 1 || (reuse == 2 && loopbackTarget(sc)) {
			delay, ok := h.sysInt("net.ipv4.tcp_tw_reuse_delay")
			if !ok {
				delay = 1000
			}
			hold = float64(delay) / 1000
			holdWhy = fmt.Sprintf("TIME_WAIT reusable after %g s (tcp_tw_reuse %d)", hold, reuse)
		}
	}
	// Ports held now are not free when the run starts: for a bind, and for
	// the kernel's own pick when TIME_WAITs hold their port 60 s, every
	// socket on one counts; when the kernel may reuse a TIME_WAIT (after
	// tcp_tw_reuse_delay) only the ports held by sockets in other states.
	var busy int64
	if h.BusyPorts != nil {
		for port := lo; port <= hi; port++ {
			n := h.BusyPorts[uint16(port)]
			if hold < timeWaitHold && h.TimeWaitPorts != nil {
				n -= h.TimeWaitPorts[uint16(port)]
			}
			if n > 0 {
				busy++
			}
		}
	}
	rate := peakRate(sc)
	if busy >= size {
		l.AfterOps = u64(0)
		l.Detail = fmt.Sprintf("at once: all %d ports of %s are held now (%s), the first connect fails", size, rangeDesc, holdWhy)
		return l
	}
	if !math.IsInf(rate, 1) && rate*hold <= float64(size-busy) {
		l.Detail = fmt.Sprintf("not reached: %g connects/s × %s < %d free ports (%s)", rate, fmtSec(hold), size-busy, rangeDesc)
		return l
	}
	l.AfterOps = u64(size - busy)
	l.Detail = fmt.Sprintf("after ~%d connects (%s, %d ports, %s)", size-busy, rangeDesc, size, holdWhy)
	if busy > 0 {
		l.Detail = fmt.Sprintf("after ~%d connects (%s, %d ports of which %d are held now, %s)", size-busy, rangeDesc, size, busy, holdWhy)
	}
	if math.IsInf(rate, 1) && hold < timeWaitHold {
		l.Detail += fmt.Sprintf(", if the closed loop makes %d connects within %s", size-busy, fmtSec(hold))
	}
	// With tcp_rfc1337 0 (the default) an RST ends a TIME_WAIT at once:
	// under load the peer's RSTs gave up to 11 % more connects than ports
	// (docs/lab.md#ports-freed-early).
	if rfc, ok := h.sysInt("net.ipv4.tcp_rfc1337"); ok && rfc == 0 && hold == timeWaitHold {
		l.Detail += "; an RST from the peer ends a TIME_WAIT early (tcp_rfc1337 0), so a loaded run may make a few more"
	}
	return l
}

func fmtSec(s float64) string { return fmt.Sprintf("%g s", s) }

func loopbackTarget(sc *scenarios.Scenario) bool {
	if sc.Cell != nil {
		return false // the target side's veth address
	}
	if sc.Target.Builtin != "" {
		ap, err := netip.ParseAddrPort(sc.Target.Listen)
		return err == nil && ap.Addr().IsLoopback()
	}
	ap, err := netip.ParseAddrPort(sc.Target.Address)
	return err == nil && ap.Addr().IsLoopback()
}

func fdLimit(sc *scenarios.Scenario, h *Host) schema.PredictedLimit {
	l := schema.PredictedLimit{Resource: ResFDs, Class: "emfile"}
	var limit uint64
	var src string
	switch {
	case sc.Limits.NoFile > 0:
		limit, src = sc.Limits.NoFile, fmt.Sprintf("limits.nofile %d", sc.Limits.NoFile)
	case h.NoFile != nil:
		// Go raises the soft limit to the hard one at start-up.
		limit, src = h.NoFile.Hard, fmt.Sprintf("RLIMIT_NOFILE hard %s", rlim(h.NoFile.Hard))
	default:
		l.Class, l.Detail = "", "unknown: RLIMIT_NOFILE could not be read"
		return l
	}
	perConn, who := int64(1), "1 descriptor per connection (external target)"
	if sc.Target.Builtin != "" {
		perConn, who = 2, "2 descriptors per connection (client and in-process target)"
	}
	base := int64(h.FDs) + runFDs
	open := int64(sc.Load.Workers) // each operation closes its connection
	if limit > math.MaxInt64/2 || base+perConn*open <= int64(limit) {
		l.Detail = fmt.Sprintf("not reached: at most %d connections open × %s + ~%d others ≤ %s", open, who, base, src)
		return l
	}
	n := (int64(limit) - base) / perConn
	l.AfterOps = u64(n)
	l.Detail = fmt.Sprintf("after ~%d connects: %d workers hold up to %d connections, %s, beside ~%d descriptors already open, above %s", max(n, 0), open, open, who, base, src)
	return l
}

func backlogLimit(sc *scenarios.Scenario, h *Host) schema.PredictedLimit {
	l := schema.PredictedLimit{Resource: ResBacklog, Class: "etimedout"}
	if sc.Target.Builtin == "" {
		l.Class, l.Detail = "", "unknown: the external target's accept backlog is not known here"
		return l
	}
	som, ok := h.sysInt("net.core.somaxconn")
	if !ok {
		l.Class, l.Detail = "", "unknown: net.core.somaxconn could not be read"
		return l
	}
	inflight := int64(sc.Load.Workers)
	if inflight <= som {
		l.Detail = fmt.Sprintf("not reached: at most %d connects in flight, accept backlog %d (somaxconn), accepted at once", inflight, som)
		return l
	}
	l.AfterOps = u64(som)
	l.Detail = fmt.Sprintf("after ~%d connects: %d in flight overflow the accept backlog %d (somaxconn)", som, inflight, som)
	return l
}

// sortLimits orders limits by when they are reached, unreached last.
func sortLimits(ls []schema.PredictedLimit) {
	slices.SortStableFunc(ls, func(a, b schema.PredictedLimit) int {
		switch {
		case a.AfterOps == nil && b.AfterOps == nil:
			return 0
		case a.AfterOps == nil:
			return 1
		case b.AfterOps == nil:
			return -1
		}
		return cmp.Compare(*a.AfterOps, *b.AfterOps)
	})
}
