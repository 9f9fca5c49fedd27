package sut

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// inet_diag (include/uapi/linux/inet_diag.h, sock_diag.h).
const (
	sockDiagByFamily   = 20 // SOCK_DIAG_BY_FAMILY
	inetDiagReqByteode = 1  // INET_DIAG_REQ_BYTECODE
	inetDiagSkMemInfo  = 7  // INET_DIAG_SKMEMINFO
	bcSGE, bcSLE       = 2, 3
	skMemRcvBuf        = 1 // SK_MEMINFO_RCVBUF
	skMemSndBuf        = 3 // SK_MEMINFO_SNDBUF
	sizeofReqV2        = 56
	sizeofDiagMsg      = 72
)

// Diag dumps TCP sockets through sock_diag (NETLINK_SOCK_DIAG) in one
// network namespace: the one it was opened in. One Diag serves many
// samples; not safe for concurrent use.
type Diag struct {
	fd  int
	seq uint32
	buf []byte
}

// OpenDiag opens a sock_diag socket in the network namespace at netnsPath
// ("" = nobufs's own).
func OpenDiag(netnsPath string) (*Diag, error) {
	fd := -1
	err := InNetns(netnsPath, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sut: sock_diag: %w", err)
	}
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sut: sock_diag: %w", os.NewSyscallError("setsockopt", err))
	}
	return &Diag{fd: fd, buf: make([]byte, 64<<10)}, nil
}

// Close closes the socket.
func (d *Diag) Close() error {
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}

// Listeners returns the listening sockets on port (all ports when 0) with
// their accept queues.
func (d *Diag) Listeners(port uint16) ([]ListenQueue, error) {
	socks, err := d.Sockets(DiagQuery{States: []uint8{StateListen}, Port: port})
	if err != nil {
		return nil, err
	}
	out := make([]ListenQueue, 0, len(socks))
	for _, s := range socks {
		out = append(out, ListenQueue{Addr: s.Local, Queue: s.RQueue, Backlog: s.WQueue, Inode: s.Inode})
	}
	return out, nil
}

// Sockets dumps the TCP sockets (IPv4, then IPv6) q selects.
func (d *Diag) Sockets(q DiagQuery) ([]DiagSocket, error) {
	var out []DiagSocket
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		s, err := d.dump(fam, q)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

// ListenQueues opens a Diag in netnsPath, reads the listeners on port, and
// closes it.
func ListenQueues(netnsPath string, port uint16) ([]ListenQueue, error) {
	d, err := OpenDiag(netnsPath)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Listeners(port)
}

// request builds a dump request: nlmsghdr, inet_diag_req_v2 and, for a
// port, a bytecode "sport >= P && sport <= P" (the form every kernel with
// inet_diag accepts).
func (d *Diag) request(fam uint8, q DiagQuery) []byte {
	var states uint32
	for _, s := range q.States {
		states |= 1 << s
	}
	if states == 0 {
		states = 0xfff
	}
	var ext uint8
	if q.Mem {
		ext = 1 << (inetDiagSkMemInfo - 1)
	}
	var bc []byte
	if q.Port != 0 {
		// ops: {code, yes, no} then {0, 0, port}; "no" past the end rejects.
		bc = make([]byte, 16)
		put := func(off int, code, yes uint8, no uint16) {
			bc[off], bc[off+1] = code, yes
			binary.NativeEndian.PutUint16(bc[off+2:], no)
		}
		put(0, bcSGE, 8, 20)
		put(4, 0, 0, q.Port)
		put(8, bcSLE, 8, 12)
		put(12, 0, 0, q.Port)
	}
	n := unix.SizeofNlMsghdr + sizeofReqV2
	if bc != nil {
		n += unix.SizeofRtAttr + len(bc)
	}
	b := make([]byte, n)
	d.seq++
	binary.NativeEndian.PutUint32(b[0:], uint32(n))
	binary.NativeEndian.PutUint16(b[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(b[8:], d.seq)
	r := b[unix.SizeofNlMsghdr:]
	r[0], r[1], r[2] = fam, unix.IPPROTO_TCP, ext
	binary.NativeEndian.PutUint32(r[4:], states)
	if bc != nil {
		a := r[sizeofReqV2:]
		binary.NativeEndian.PutUint16(a[0:], uint16(unix.SizeofRtAttr+len(bc)))
		binary.NativeEndian.PutUint16(a[2:], inetDiagReqByteode)
		copy(a[unix.SizeofRtAttr:], bc)
	}
	return b
}

// maxDiagMessages bounds one dump.
const maxDiagMessages = 1 << 20

func (d *Diag) dump(fam uint8, q DiagQuery) ([]DiagSocket, error) {
	if d.fd < 0 {
		return nil, fmt.Errorf("sut: sock_diag: %w", os.ErrClosed)
	}
	if err := unix.Sendto(d.fd, d.request(fam, q), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sut: sock_diag: %w", os.NewSyscallError("sendto", err))
	}
	var out []DiagSocket
	for count := 0; count < maxDiagMessages; {
		n, _, err := unix.Recvfrom(d.fd, d.buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sut: sock_diag: %w", os.NewSyscallError("recvfrom", err))
		}
		msgs, err := syscall.ParseNetlinkMessage(d.buf[:n])
		if err != nil {
			return nil, fmt.Errorf("sut: sock_diag: %w", err)
		}
		for _, m := range msgs {
			count++
			if m.Header.Seq != d.seq {
				continue // a late answer to an earlier request
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
						return nil, fmt.Errorf("sut: sock_diag: %w", syscall.Errno(errno))
					}
				}
				return out, nil
			case sockDiagByFamily:
				if s, ok := parseDiagMsg(m.Data); ok {
					out = append(out, s)
				}
			}
		}
	}
	return nil, errors.New("sut: sock_diag: dump did not end")
}

// parseDiagMsg reads an inet_diag_msg and its SKMEMINFO attribute.
func parseDiagMsg(b []byte) (DiagSocket, bool) {
	if len(b) < sizeofDiagMsg {
		return DiagSocket{}, false
	}
	fam := b[0]
	s := DiagSocket{State: TCPStateName(b[1])}
	id := b[4:52]
	sport, dport := binary.BigEndian.Uint16(id[0:]), binary.BigEndian.Uint16(id[2:])
	s.Local = netip.AddrPortFrom(diagAddr(fam, id[4:20]), sport)
	s.Remote = netip.AddrPortFrom(diagAddr(fam, id[20:36]), dport)
	s.RQueue = binary.NativeEndian.Uint32(b[56:])
	s.WQueue = binary.NativeEndian.Uint32(b[60:])
	s.UID = binary.NativeEndian.Uint32(b[64:])
	s.Inode = binary.NativeEndian.Uint32(b[68:])
	for a := b[sizeofDiagMsg:]; len(a) >= unix.SizeofRtAttr; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		typ := binary.NativeEndian.Uint16(a[2:])
		if l < unix.SizeofRtAttr || l > len(a) {
			break
		}
		if typ == inetDiagSkMemInfo {
			v := a[unix.SizeofRtAttr:l]
			if len(v) >= 4*(skMemSndBuf+1) {
				s.RcvBuf = binary.NativeEndian.Uint32(v[4*skMemRcvBuf:])
				s.SndBuf = binary.NativeEndian.Uint32(v[4*skMemSndBuf:])
			}
		}
		al := (l + unix.RTA_ALIGNTO - 1) &^ (unix.RTA_ALIGNTO - 1)
		if al > len(a) {
			break
		}
		a = a[al:]
	}
	return s, true
}

func diagAddr(fam uint8, b []byte) netip.Addr {
	if fam == unix.AF_INET {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16([16]byte(b[:16])).Unmap()
}
