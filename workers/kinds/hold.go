package kinds

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
)

// holdKind opens hold.connections connections (this segment's share),
// load.workers connects in flight, and holds them idle until the run
// ends, counting those the server ends. The connections live on event
// loops (hold_linux.go): a descriptor and a byte of state each.
type holdKind struct {
	sc     *scenarios.Scenario
	dests  []netip.AddrPort
	wanted uint64
	start  time.Time

	claimed, opened, held, peak, closedEOF, reset, heldAtEnd atomic.Uint64
	allOpenAt                                                atomic.Int64 // ns since the run started; 0 not yet
	rssBefore, rssAllOpen                                    atomic.Uint64
	env                                                      *workers.Env

	prev holdTotals // sampler-owned
}

type holdTotals struct{ opened, eof, reset uint64 }

func newHoldKind(env *workers.Env) (*holdKind, error) {
	sc := env.Scenario
	aps, err := scenarios.PeerAddrs(env.Addr, sc.Hold.Peers)
	if err != nil {
		return nil, fmt.Errorf("hold.peers: %w", err)
	}
	k := &holdKind{sc: sc, dests: aps, wanted: uint64(sc.Hold.Connections), env: env}
	k.rssBefore.Store(rssBytes())
	return k, nil
}

// dest is where operation op connects: the peers in turn.
func (k *holdKind) dest(op uint64) int { return int((op - 1) % uint64(len(k.dests))) }

// gotOne counts a connection opened and held.
func (k *holdKind) gotOne() {
	n := k.held.Add(1)
	for p := k.peak.Load(); n > p && !k.peak.CompareAndSwap(p, n); p = k.peak.Load() {
	}
	if k.opened.Add(1) == k.wanted {
		k.allOpenAt.CompareAndSwap(0, int64(k.env.Since()))
		k.rssAllOpen.Store(rssBytes())
	}
}

// Sample adds this interval's opens and server closes and the
// connections held now to the timeline.
func (k *holdKind) Sample(time.Duration) map[string]any {
	t := holdTotals{k.opened.Load(), k.closedEOF.Load(), k.reset.Load()}
	m := map[string]any{
		"held":             k.held.Load(),
		"opened":           t.opened - k.prev.opened,
		"closed_by_server": t.eof - k.prev.eof,
		"reset_by_server":  t.reset - k.prev.reset,
	}
	k.prev = t
	return m
}

func (k *holdKind) Report(s *schema.Summary) {
	r := &schema.HoldReport{
		Peers:          len(k.dests),
		FirstPeer:      k.dests[0].String(),
		LastPeer:       k.dests[len(k.dests)-1].String(),
		Wanted:         k.wanted,
		Opened:         k.opened.Load(),
		HeldAtEnd:      k.heldAtEnd.Load(),
		PeakHeld:       k.peak.Load(),
		ClosedByServer: k.closedEOF.Load(),
		ResetByServer:  k.reset.Load(),
	}
	if at := k.allOpenAt.Load(); at > 0 {
		r.AllOpenSec = time.Duration(at).Seconds()
	}
	r.RSSBeforeBytes, r.RSSAllOpenBytes = k.rssBefore.Load(), k.rssAllOpen.Load()
	if r.RSSAllOpenBytes > 0 && r.RSSBeforeBytes > 0 && r.Opened > 0 {
		r.UserBytesPerConn = (float64(r.RSSAllOpenBytes) - float64(r.RSSBeforeBytes)) / float64(r.Opened)
	}
	s.Hold = r
}

func (k *holdKind) Close() {}
