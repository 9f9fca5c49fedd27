//go:build !linux

package vmlab

import (
	"fmt"

	"github.com/nobufs/nobufs/lab/vm"
	"github.com/nobufs/nobufs/scenarios"
)

// setNoFile needs a Linux guest.
func setNoFile(uint64) error { return fmt.Errorf("guest: %w", vm.ErrUnsupported) }

// applySysctls needs a Linux guest.
func applySysctls(map[string]scenarios.SysctlValue) (map[string]string, error) {
	return nil, fmt.Errorf("guest: %w", vm.ErrUnsupported)
}

// kernelClock is unknown here.
func kernelClock() RunStart { return RunStart{Source: "none"} }
