//go:build !linux

package sut

// PIDWatch samples a process; implemented on Linux only.
type PIDWatch struct{}

// WatchPID returns ErrUnsupported outside Linux.
func WatchPID(pid int) (*PIDWatch, error) { return nil, ErrUnsupported }

// Sample returns ErrUnsupported outside Linux.
func (w *PIDWatch) Sample() (PIDSample, error) { return PIDSample{}, ErrUnsupported }

// NoSockets does nothing outside Linux.
func (w *PIDWatch) NoSockets() {}
