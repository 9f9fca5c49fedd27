package workers

import (
	"context"
	"fmt"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/nobufs/nobufs/scenarios"
)

// kind is one workload: it performs operations for the workers.
type kind interface {
	// op performs operation number op (1-based) for worker w. It records
	// its outcome on w (OK, Fail, Connected/Closed, Bytes) and returns.
	op(ctx context.Context, w *Worker, op uint64)
	// report adds the kind's own results to the summary; called once,
	// after every worker exited.
	report(s *schema.Summary)
	// close releases what the kind holds; called after report.
	close()
}

// sampleExtender is implemented by kinds that add their own gauges to each
// timeline sample (under "extra"). It is called from the sampler goroutine
// once per interval, concurrently with the workers.
type sampleExtender interface {
	extendSample(elapsed time.Duration) map[string]any
}

// newKind builds the workload of a scenario.
func newKind(sc *scenarios.Scenario, addr string, rs *runState) (kind, error) {
	switch sc.Kind {
	case scenarios.KindPortExhaustion:
		return newPortKind(sc, addr, rs)
	case scenarios.KindChurn:
		return newChurnKind(sc, addr, rs)
	case scenarios.KindHalfOpen:
		return newHalfOpenKind(sc, addr, rs)
	case scenarios.KindDeadPeer:
		return newDeadPeerKind(sc, addr, rs)
	case scenarios.KindUDPPush:
		return newUDPKind(sc, addr, rs)
	}
	return nil, fmt.Errorf("kind %q is not implemented", sc.Kind)
}
