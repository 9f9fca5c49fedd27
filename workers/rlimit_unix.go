//go:build unix && !freebsd && !dragonfly

package workers

import "golang.org/x/sys/unix"

func setRlimCur(r *unix.Rlimit, n uint64) { r.Cur = n }
func rlimMax(r unix.Rlimit) uint64        { return r.Max }
