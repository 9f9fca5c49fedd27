//go:build !linux

package sut

import "fmt"

// KmsgWatch reads the kernel log; Linux only.
type KmsgWatch struct{}

// OpenKmsg returns ErrKmsgUnavailable (wrapping ErrUnsupported) outside Linux.
func OpenKmsg(rules []Rule) (*KmsgWatch, error) {
	return nil, fmt.Errorf("sut: %w: %w", ErrKmsgUnavailable, ErrUnsupported)
}

// Sample returns ErrUnsupported outside Linux.
func (k *KmsgWatch) Sample() (KmsgSample, error) { return KmsgSample{}, ErrUnsupported }

// SetOnMatch does nothing outside Linux.
func (k *KmsgWatch) SetOnMatch(func(MatchedLine)) {}

// Close does nothing outside Linux.
func (k *KmsgWatch) Close() error { return nil }
