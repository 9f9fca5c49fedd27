package kinds

import (
	"context"
	"math/rand/v2"
	"net"
	"time"

	"github.com/nobufs/nobufs/workers"
)

// liveWire is a churn connection's life against a real server
// (scenario.wire): say the payload at once and read the reply; then, with
// wire.repeat, again after each drawn gap, else hold the connection idle —
// reading what comes, so that the server's close is seen when it comes —
// until its lifetime ends. It reports whether the connection lived its
// whole life (see live).
func (k *churnKind) liveWire(ctx context.Context, w *workers.Worker, op uint64, c net.Conn, r *rand.Rand, end time.Time) bool {
	cnt := &k.per[w.ID]
	for {
		if phase, err := k.say.say(ctx, w, c); err != nil {
			w.Fail(ctx, op, phase, err)
			return false
		}
		cnt.bursts.Add(1)
		if !k.say.repeat {
			return hold(ctx, w, op, c, end)
		}
		gap := time.Duration(draw(k.gap, r, k.maxGap))
		next := time.Now().Add(gap)
		last := !next.Before(end)
		if last {
			next = end
		}
		if !hold(ctx, w, op, c, next) {
			return false
		}
		if last {
			return true
		}
	}
}
