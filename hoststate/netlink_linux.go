package hoststate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nlConn is one netlink socket doing dump requests. It belongs to the
// network namespace of the thread that created it.
type nlConn struct {
	fd  int
	seq uint32
	buf []byte
}

// maxDumpReads bounds the recv calls of one dump (each returns many
// messages; 100,000 sockets take a few hundred).
const maxDumpReads = 100_000

func newNLConn(proto int) (*nlConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	// A dump that never ends must not hang the sampler.
	tv := unix.NsecToTimeval((2 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink socket: SO_RCVTIMEO: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &nlConn{fd: fd, buf: make([]byte, 64<<10)}, nil
}

func (c *nlConn) close() error { return unix.Close(c.fd) }

// dump sends a dump request of type typ with body and calls fn with each
// reply message's type and payload (after the netlink header).
func (c *nlConn) dump(typ uint16, body []byte, fn func(typ uint16, msg []byte)) error {
	c.seq++
	req := make([]byte, unix.NLMSG_HDRLEN+len(body))
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], typ)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], c.seq)
	copy(req[unix.NLMSG_HDRLEN:], body)
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	for range maxDumpReads {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink recv: %w", err)
		}
		b := c.buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(ne.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return fmt.Errorf("netlink: message length %d of %d", l, len(b))
			}
			mtyp, seq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
			msg := b[unix.NLMSG_HDRLEN:l]
			b = b[min(nlAlign(l), len(b)):]
			if seq != c.seq {
				continue // a reply to an earlier, abandoned request
			}
			switch mtyp {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(msg) >= 4 {
					if e := int32(ne.Uint32(msg)); e != 0 {
						return fmt.Errorf("netlink dump: %w", syscall.Errno(-e))
					}
				}
				return nil
			default:
				fn(mtyp, msg)
			}
		}
	}
	return fmt.Errorf("netlink dump: no end after %d reads", maxDumpReads)
}

// Constants of linux/rtnetlink.h, pkt_sched.h and gen_stats.h that
// x/sys/unix does not define.
const (
	tcMsgLen      = 20 // struct tcmsg
	tcaStatsQueue = 3  // TCA_STATS_QUEUE inside TCA_STATS2
	tcHRoot       = 0xFFFFFFFF
	tcHIngress    = 0xFFFFFFF1
	nlaTypeMask   = 0x3fff
)

func nlAlign(n int) int { return (n + 3) &^ 3 }

// attrs calls fn for each route attribute in b.
func attrs(b []byte, fn func(typ uint16, val []byte)) {
	ne := binary.NativeEndian
	for len(b) >= 4 {
		l := int(ne.Uint16(b[0:]))
		if l < 4 || l > len(b) {
			return
		}
		fn(ne.Uint16(b[2:])&nlaTypeMask, b[4:l])
		b = b[min(nlAlign(l), len(b)):]
	}
}

// inet_diag_req_v2: family, protocol, ext, pad, states, then the 48-byte
// inet_diag_sockid (zero: every socket).
const inetDiagReqLen = 56

// The older request, TCPDIAG_GETSOCK with struct inet_diag_req (family,
// src_len, dst_len, ext, 48-byte sockid, states, dbs): the kernel answers
// it for both address families in one walk of the TCP hash table, where
// the v2 request needs one walk per family (BenchmarkSample: ~1.5x less).
const (
	tcpDiagGetSock   = 18
	inetDiagReqV1Len = 60
	inetDiagV1States = 52
)

// countTCPBoth counts the TCP sockets of both families per state with one
// TCPDIAG_GETSOCK dump. Only the state byte of each reply is read.
func countTCPBoth(c *nlConn, st *TCPStates) error {
	body := make([]byte, inetDiagReqV1Len)
	binary.NativeEndian.PutUint32(body[inetDiagV1States:], ^uint32(0)) // every state
	err := c.dump(tcpDiagGetSock, body, func(typ uint16, msg []byte) {
		if typ == tcpDiagGetSock && len(msg) >= 2 {
			st.add(msg[1]) // inet_diag_msg.idiag_state
		}
	})
	if err != nil {
		return fmt.Errorf("sock_diag: %w", err)
	}
	return nil
}

// countTCP counts the TCP sockets of both families per state with one
// SOCK_DIAG_BY_FAMILY dump each: the fallback of countTCPBoth.
func countTCP(c *nlConn, st *TCPStates) error {
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		body := make([]byte, inetDiagReqLen)
		body[0], body[1] = fam, unix.IPPROTO_TCP
		binary.NativeEndian.PutUint32(body[4:], ^uint32(0)) // every state
		err := c.dump(unix.SOCK_DIAG_BY_FAMILY, body, func(typ uint16, msg []byte) {
			if typ == unix.SOCK_DIAG_BY_FAMILY && len(msg) >= 2 {
				st.add(msg[1]) // inet_diag_msg.idiag_state
			}
		})
		if err != nil {
			if fam == unix.AF_INET6 && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAFNOSUPPORT)) {
				continue // no IPv6 in this kernel or namespace
			}
			return fmt.Errorf("sock_diag family %d: %w", fam, err)
		}
	}
	return nil
}

// qdiscStats is one qdisc as dumped, before deltas.
type qdiscStats struct {
	ifindex                     int32
	handle, parent              uint32
	kind                        string
	drops, overlimits, requeues uint64
	backlog, qlen               uint32
}

// linkNames maps interface index to name (RTM_GETLINK dump).
func linkNames(c *nlConn) (map[int32]string, error) {
	names := map[int32]string{}
	err := c.dump(unix.RTM_GETLINK, make([]byte, unix.SizeofIfInfomsg), func(typ uint16, msg []byte) {
		if typ != unix.RTM_NEWLINK || len(msg) < unix.SizeofIfInfomsg {
			return
		}
		idx := int32(binary.NativeEndian.Uint32(msg[4:]))
		attrs(msg[unix.SizeofIfInfomsg:], func(t uint16, v []byte) {
			if t == unix.IFLA_IFNAME {
				names[idx] = cstring(v)
			}
		})
	})
	return names, err
}

// dumpQdiscs lists every qdisc of the namespace with its statistics.
func dumpQdiscs(c *nlConn) ([]qdiscStats, error) {
	var qs []qdiscStats
	ne := binary.NativeEndian
	err := c.dump(unix.RTM_GETQDISC, make([]byte, tcMsgLen), func(typ uint16, msg []byte) {
		if typ != unix.RTM_NEWQDISC || len(msg) < tcMsgLen {
			return
		}
		q := qdiscStats{ifindex: int32(ne.Uint32(msg[4:])), handle: ne.Uint32(msg[8:]), parent: ne.Uint32(msg[12:])}
		haveQueue := false
		attrs(msg[tcMsgLen:], func(t uint16, v []byte) {
			switch t {
			case unix.TCA_KIND:
				q.kind = cstring(v)
			case unix.TCA_STATS2:
				attrs(v, func(t uint16, v []byte) {
					// struct gnet_stats_queue: qlen, backlog, drops, requeues, overlimits.
					if t == tcaStatsQueue && len(v) >= 20 {
						haveQueue = true
						q.qlen, q.backlog = ne.Uint32(v[0:]), ne.Uint32(v[4:])
						q.drops, q.requeues, q.overlimits = uint64(ne.Uint32(v[8:])), uint64(ne.Uint32(v[12:])), uint64(ne.Uint32(v[16:]))
					}
				})
			case unix.TCA_STATS:
				// struct tc_stats: bytes u64, packets, drops, overlimits, bps, pps, qlen, backlog.
				if !haveQueue && len(v) >= 36 {
					q.drops, q.overlimits = uint64(ne.Uint32(v[12:])), uint64(ne.Uint32(v[16:]))
					q.qlen, q.backlog = ne.Uint32(v[28:]), ne.Uint32(v[32:])
				}
			}
		})
		qs = append(qs, q)
	})
	return qs, err
}

// tcHandle formats a qdisc handle or parent as tc does.
func tcHandle(h uint32) string {
	switch h {
	case tcHRoot:
		return "root"
	case tcHIngress:
		return "ingress"
	}
	return fmt.Sprintf("%x:%x", h>>16, h&0xffff)
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
