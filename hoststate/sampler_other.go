//go:build !linux

package hoststate

// Sampler is not available on this system; New returns ErrUnsupported.
type Sampler struct{}

// New returns ErrUnsupported: host state is read from Linux interfaces.
func New(Options) (*Sampler, error) { return nil, ErrUnsupported }

// Sample returns nil.
func (*Sampler) Sample() *State { return nil }

// Close does nothing.
func (*Sampler) Close() error { return nil }

// Supported reports whether New works on this system.
func Supported() bool { return false }
