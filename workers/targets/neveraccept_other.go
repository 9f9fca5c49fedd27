//go:build !linux

package targets

// AcceptQueue is known on Linux only; ok is false here.
func (t *neverAccept) AcceptQueue() (queued, limit int, ok bool) { return 0, 0, false }
