// Package targets holds the built-in targets: one type per mode, each a
// workers.Target, started in-process for a run (or on their own by
// `nobufs target`). Table lists them; a new mode is its own file and one
// line there.
package targets

import (
	"fmt"
	"net/netip"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// Table is the built-in target modes, by name.
var Table = map[string]workers.NewTarget{
	scenarios.TargetAcceptClose: newAcceptClose,
	scenarios.TargetSink:        newSink,
	scenarios.TargetEcho:        newEcho,
	scenarios.TargetChurnPeer:   newChurnPeer,
	scenarios.TargetNeverAccept: newNeverAccept,
	scenarios.TargetNonReader:   newNonReader,
	scenarios.TargetVanish:      newVanish,
	scenarios.TargetUDPSink:     newUDPSink,
	scenarios.TargetStreamer:    newStreamer,
	scenarios.TargetOrphanPeer:  newOrphanPeer,
}

// Start starts a target of the given mode listening on listen, which must
// be a loopback address.
func Start(mode, listen string, o scenarios.TargetOptions) (workers.Target, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("listen address %q: %w: built-in targets listen on loopback only", listen, workers.ErrTargetRefused)
	}
	return Listen(mode, listen, o)
}

// Listen starts a target of the given mode on any address; the standalone
// `nobufs target` command uses it after its own safety check.
func Listen(mode, listen string, o scenarios.TargetOptions) (workers.Target, error) {
	newTarget := Table[mode]
	if newTarget == nil {
		return nil, fmt.Errorf("unknown target mode %q", mode)
	}
	return newTarget(listen, o)
}
