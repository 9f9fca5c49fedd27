//go:build !linux

package doctor

import (
	"errors"

	"github.com/nobufs/nobufs/workers"
)

// errNotLinux: doctor's facts are Linux's; elsewhere they are not read.
var errNotLinux = errors.New("read on Linux only")

func readNoFile() (workers.Rlimit, error) { return workers.Rlimit{}, errNotLinux }

func readKmsg(int) ([]string, error) { return nil, errNotLinux }
