//go:build !linux

package kinds

import (
	"fmt"

	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/netpoll"
)

// newHold: kind hold holds its connections on the event loop, which
// needs Linux.
func newHold(*workers.Env) (workers.Kind, error) {
	return nil, fmt.Errorf("kind hold: %w", netpoll.ErrUnsupported)
}

// rssBytes is not read on this system.
func rssBytes() uint64 { return 0 }
