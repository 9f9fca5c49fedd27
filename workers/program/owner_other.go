//go:build !linux

package program

import "github.com/nobufs/nobufs/lab/sut"

// startTime is unknown here: launching programs is Linux's (lab/sut).
func startTime(int) (uint64, error) { return 0, sut.ErrUnsupported }
