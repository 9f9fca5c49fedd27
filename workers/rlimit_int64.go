//go:build freebsd || dragonfly

package workers

import "golang.org/x/sys/unix"

// FreeBSD's and DragonFly's rlimit fields are int64.
func setRlimCur(r *unix.Rlimit, n uint64) { r.Cur = int64(n) }
func rlimMax(r unix.Rlimit) uint64        { return uint64(r.Max) }
