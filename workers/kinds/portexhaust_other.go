//go:build !linux

package kinds

import (
	"context"

	"github.com/nobufs/nobufs/workers"
)

// Op dials, exchanges and closes through Go's dialer.
func (k *portKind) Op(ctx context.Context, w *workers.Worker, op uint64) { k.opStd(ctx, w, op) }

// pollerSlot is unused without the event loop.
type pollerSlot struct{}

// Close releases nothing on this path.
func (k *portKind) Close() {}
