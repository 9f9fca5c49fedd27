//go:build !linux

package workers

// SockInfoSupported is false: SIOCOUTQ and TCP_INFO with these fields are
// Linux's; elsewhere the dead-peer kind reports no per-socket queues.
const SockInfoSupported = false

// SockQueue returns ErrNoSockInfo.
func SockQueue(fd uintptr) (SockInfo, error) { return SockInfo{}, ErrNoSockInfo }

// SetRecvErr does nothing: IP_RECVERR is Linux-only (other systems report
// local send errors without it, or not at all).
func SetRecvErr(fd uintptr, ipv6 bool) error { return nil }

// RecvErrSupported is false outside Linux.
const RecvErrSupported = false

// RecvErrOn reports false.
func RecvErrOn(fd uintptr, ipv6 bool) bool { return false }
