// Package kinds holds the workloads: one kind per file, each a
// workers.Kind built by its constructor in Table. A new kind is its own
// file and one line there.
package kinds

import (
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// Table is the engine's constructors, by kind.
var Table = map[string]workers.NewKind{
	scenarios.KindPortExhaustion: newPortExhaustion,
	scenarios.KindChurn:          newChurn,
	scenarios.KindHalfOpen:       newHalfOpen,
	scenarios.KindDeadPeer:       newDeadPeer,
	scenarios.KindUDPPush:        newUDPPush,
	scenarios.KindSlowReader:     newSlowReader,
	scenarios.KindHold:           newHold,
	scenarios.KindOrphanChurn:    newOrphanChurn,
}
