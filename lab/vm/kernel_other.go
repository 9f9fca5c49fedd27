//go:build !linux

package vm

import (
	"context"
	"fmt"
)

// Prepare fetches kernels with apt only on Linux; elsewhere it returns a
// kernel already in the cache, or ErrUnsupported.
func Prepare(ctx context.Context, cacheDir string) (Kernel, error) {
	return PreparePackage(ctx, cacheDir, "")
}

// PreparePackage returns a cached kernel of pkg (any with pkg empty), or
// ErrUnsupported.
func PreparePackage(ctx context.Context, cacheDir, pkg string) (Kernel, error) {
	if k, err := FindKernelPackage(cacheDir, pkg); err == nil {
		return k, nil
	}
	return Kernel{}, fmt.Errorf("vm kernel: %w", ErrUnsupported)
}
