//go:build !linux

package sut

import (
	"context"
	"net"
	"os"
	"time"
)

// Start returns ErrUnsupported: launching programs is implemented on Linux.
func Start(ctx context.Context, spec Spec, netnsPath string) (*Proc, error) {
	return nil, ErrUnsupported
}

// Reap returns ErrUnsupported outside Linux.
func Reap(runDir string) (int, error) { return 0, ErrUnsupported }

// InNetns runs fn when path is ""; network namespaces are Linux's.
func InNetns(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return ErrUnsupported
}

// DialIn dials addr over TCP; only path "" is supported outside Linux.
func DialIn(ctx context.Context, path, addr string) (net.Conn, error) {
	if path != "" {
		return nil, ErrUnsupported
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (p *Proc) stop(grace time.Duration) error { return ErrUnsupported }

func signalOf(ps *os.ProcessState) (string, bool) { return "", false }
