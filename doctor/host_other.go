//go:build !linux

package doctor

import (
	"errors"
)

// errNotLinux: doctor's facts are Linux's; elsewhere they are not read.
var errNotLinux = errors.New("read on Linux only")

func readKmsg(int) ([]string, error) { return nil, errNotLinux }
