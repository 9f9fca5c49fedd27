//go:build !linux

package workers

// sockDiagSupported is false: SIOCOUTQ and TCP_INFO with these fields are
// Linux's; elsewhere the dead-peer kind reports no per-socket queues.
const sockDiagSupported = false

func sockQueue(fd uintptr) (sockInfo, error) { return sockInfo{}, errNoDiag }

// setRecvErr does nothing: IP_RECVERR is Linux-only (other systems report
// local send errors without it, or not at all).
func setRecvErr(fd uintptr, ipv6 bool) error { return nil }

// recvErrSupported is false outside Linux.
const recvErrSupported = false

func recvErrOn(fd uintptr, ipv6 bool) bool { return false }
