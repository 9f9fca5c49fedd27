//go:build !linux

package vm

import (
	"context"
	"fmt"
)

// Run boots guests only on Linux; elsewhere it returns ErrUnsupported.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if _, err := cfg.withDefaults(); err != nil {
		return Result{}, err
	}
	return Result{}, fmt.Errorf("vm run: %w", ErrUnsupported)
}

// KVMUsable is false where Run is unsupported.
func KVMUsable() bool { return false }
