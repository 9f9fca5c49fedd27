//go:build !unix

package workers

import (
	"errors"

	"github.com/nobufs/nobufs/scenarios"
)

func applyLimits(l scenarios.Limits) (restore func(), err error) {
	if l.NoFile != 0 {
		return nil, errors.New("limits.nofile is supported on Unix systems only")
	}
	return func() {}, nil
}
