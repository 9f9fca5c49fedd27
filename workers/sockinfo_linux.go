package workers

import (
	"os"

	"golang.org/x/sys/unix"
)

// SockInfoSupported: SIOCOUTQ and TCP_INFO are read per socket on Linux.
const SockInfoSupported = true

// SockQueue reads what a TCP socket holds: for sending SIOCOUTQ
// (bytes not yet acknowledged, sent or not) and TCP_INFO, received and
// unread SIOCINQ.
func SockQueue(fd uintptr) (SockInfo, error) {
	q, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	if err != nil {
		return SockInfo{}, os.NewSyscallError("ioctl", err)
	}
	ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return SockInfo{}, os.NewSyscallError("getsockopt", err)
	}
	in, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	if err != nil {
		return SockInfo{}, os.NewSyscallError("ioctl", err)
	}
	return SockInfo{Queued: int64(q), Unacked: ti.Unacked, NotSent: ti.Notsent_bytes, SndWnd: ti.Snd_wnd, State: tcpStateName(ti.State), Unread: int64(in)}, nil
}

// tcpStates are the Linux TCP states (include/net/tcp_states.h).
var tcpStates = [...]string{1: "established", 2: "syn-sent", 3: "syn-recv", 4: "fin-wait1", 5: "fin-wait2",
	6: "time-wait", 7: "close", 8: "close-wait", 9: "last-ack", 10: "listen", 11: "closing", 12: "new-syn-recv"}

func tcpStateName(s uint8) string {
	if int(s) < len(tcpStates) && tcpStates[s] != "" {
		return tcpStates[s]
	}
	return "unknown"
}

// SetRecvErr sets IP_RECVERR (IPV6_RECVERR on an IPv6 socket): the kernel
// then reports local send errors — a full qdisc's drop — as the errno of
// sendto instead of counting them silently.
func SetRecvErr(fd uintptr, ipv6 bool) error {
	var err error
	if ipv6 {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
	} else {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
	}
	if err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	return nil
}

// RecvErrSupported: IP_RECVERR exists on Linux.
const RecvErrSupported = true

// RecvErrOn reads IP_RECVERR (IPV6_RECVERR) back from a socket.
func RecvErrOn(fd uintptr, ipv6 bool) bool {
	var v int
	if ipv6 {
		v, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR)
	} else {
		v, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR)
	}
	return v != 0
}
