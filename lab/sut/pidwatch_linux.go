package sut

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/procfs"
)

// PIDWatch samples a process, its descendants and its network namespace's
// TCP sockets from /proc. It is cheap (a few small files per process) and
// meant to be sampled once a second; it is not safe for concurrent use.
type PIDWatch struct {
	pid   int
	start uint64
	fs    procfs.FS
	noTCP bool
}

// NoSockets makes Sample leave TCP and Listen empty: reading
// /proc/PID/net/tcp costs with the namespace's sockets (130 ms for 44000
// on a busy host), and a caller that counts them by sock_diag has them
// cheaper.
func (w *PIDWatch) NoSockets() { w.noTCP = true }

// WatchPID watches pid: one nobufs launched (Proc.PID) or any other. The
// process's start time is kept, so a sample after the PID was reused for
// another process fails with ErrGone instead of reading the wrong one.
func WatchPID(pid int) (*PIDWatch, error) {
	fsys, err := procfs.NewFS("/proc")
	if err != nil {
		return nil, fmt.Errorf("sut: %w", err)
	}
	st, err := readStat(pid)
	if err != nil {
		return nil, fmt.Errorf("sut: watch pid %d: %w: %w", pid, ErrGone, err)
	}
	return &PIDWatch{pid: pid, start: st.start, fs: fsys}, nil
}

// Sample reads the process now.
func (w *PIDWatch) Sample() (PIDSample, error) {
	s := PIDSample{Time: time.Now()}
	root, err := w.proc(w.pid)
	if err != nil {
		return s, err
	}
	if st, err := readStat(w.pid); err != nil || st.start != w.start || st.state == 'Z' {
		return s, fmt.Errorf("sut: pid %d: %w", w.pid, ErrGone)
	}
	s.Procs = append(s.Procs, root)
	for _, d := range descendants(w.pid) {
		if len(s.Procs) >= MaxWatchedProcs {
			break
		}
		if ps, err := w.proc(d.pid); err == nil {
			s.Procs = append(s.Procs, ps)
		}
	}
	for _, p := range s.Procs {
		s.FDs += p.FDs
	}
	s.TCP = map[string]int{}
	if w.noTCP {
		return s, nil
	}
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(w.pid) + "/net/" + f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && f == "tcp6" {
				continue // no IPv6
			}
			return s, fmt.Errorf("sut: %w", err)
		}
		s.Listen = append(s.Listen, countTCP(b, s.TCP)...)
	}
	return s, nil
}

func (w *PIDWatch) proc(pid int) (ProcSample, error) {
	p, err := w.fs.Proc(pid)
	if err != nil {
		return ProcSample{}, fmt.Errorf("sut: pid %d: %w: %w", pid, ErrGone, err)
	}
	st, err := p.Stat()
	if err != nil {
		return ProcSample{}, fmt.Errorf("sut: pid %d: %w: %w", pid, ErrGone, err)
	}
	ps := ProcSample{PID: pid, PPID: st.PPID, Comm: st.Comm, RSS: uint64(st.ResidentMemory()), Threads: st.NumThreads}
	if ps.FDs, err = p.FileDescriptorsLen(); err != nil {
		return ProcSample{}, fmt.Errorf("sut: pid %d fds: %w", pid, err)
	}
	lim, err := p.Limits()
	if err != nil {
		return ProcSample{}, fmt.Errorf("sut: pid %d limits: %w", pid, err)
	}
	ps.NoFileSoft = lim.OpenFiles
	// procfs reads only the soft column; the hard one is read here.
	if hard, err := noFileHard(pid); err == nil {
		ps.NoFileHard = hard
	}
	return ps, nil
}

// noFileHard reads the hard "Max open files" of /proc/PID/limits.
func noFileHard(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return 0, err
	}
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		if rest, ok := bytes.CutPrefix(l, []byte("Max open files")); ok {
			f := bytes.Fields(rest)
			if len(f) < 2 {
				break
			}
			if string(f[1]) == "unlimited" {
				return ^uint64(0), nil
			}
			return strconv.ParseUint(string(f[1]), 10, 64)
		}
	}
	return 0, errors.New("no Max open files line")
}

// countTCP counts a /proc/net/tcp{,6} table's sockets by state into
// counts and returns its LISTEN sockets with their accept queues.
func countTCP(b []byte, counts map[string]int) []ListenSample {
	var listen []ListenSample
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 512), 4096)
	first := true
	for sc.Scan() {
		if first {
			first = false // the header
			continue
		}
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 {
			continue
		}
		st, err := strconv.ParseUint(string(f[3]), 16, 8)
		if err != nil {
			continue
		}
		name := TCPStateName(uint8(st))
		counts[name]++
		if name != "listen" {
			continue
		}
		addr, err := parseProcAddr(string(f[1]))
		if err != nil {
			continue
		}
		// tx_queue:rx_queue; for a listener rx_queue is the accept queue.
		_, rx, ok := bytes.Cut(f[4], []byte{':'})
		if !ok {
			continue
		}
		q, err := strconv.ParseUint(string(rx), 16, 32)
		if err != nil {
			continue
		}
		listen = append(listen, ListenSample{Addr: addr, Queue: uint32(q)})
	}
	return listen
}

// parseProcAddr reads "0100007F:1F90" (IPv4) or 32 hex digits:port
// (IPv6): the address as the kernel's 32-bit words in host byte order.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := bytes.Cut([]byte(s), []byte{':'})
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(string(hexPort), 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	raw, err := hex.DecodeString(string(hexAddr))
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	// The kernel prints each 32-bit word of the address (network-order
	// bytes in memory) as a host-order number: read the number, put it
	// back into memory order.
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
