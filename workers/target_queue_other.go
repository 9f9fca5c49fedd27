//go:build !linux

package workers

// AcceptQueue is known on Linux only; ok is false here.
func (t *Target) AcceptQueue() (queued, limit int, ok bool) { return 0, 0, false }
