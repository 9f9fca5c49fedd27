//go:build !linux

package vm

import (
	"context"
	"fmt"
)

// Prepare fetches kernels with apt only on Linux; elsewhere it returns a
// kernel already in the cache, or ErrUnsupported.
func Prepare(ctx context.Context, cacheDir string) (Kernel, error) {
	if k, err := FindKernel(cacheDir); err == nil {
		return k, nil
	}
	return Kernel{}, fmt.Errorf("vm kernel: %w", ErrUnsupported)
}
