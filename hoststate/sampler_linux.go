package hoststate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// netDir is the network directory of the calling thread's namespace:
// /proc/self/net would show the main thread's namespace instead.
const netDir = "/proc/thread-self/net"

// Sampler reads host state from one network namespace. Its methods may be
// called from any goroutine; calls are serialised.
type Sampler struct {
	mu     sync.Mutex
	thread *nsThread // nil: read from the caller's thread (host namespace)
	diag   *nlConn   // sock_diag; nil when unavailable (then /proc/net/tcp*)
	count  func(*nlConn, *TCPStates) error
	route  *nlConn  // rtnetlink, for qdiscs; nil when unavailable
	setup  []string // what could not be set up, repeated in every sample

	prevCounters map[string]uint64
	prevDrops    map[qdiscKey]uint64
	closed       bool
}

type qdiscKey struct {
	ifindex        int32
	handle, parent uint32
}

// New makes a Sampler for the namespace o names (none: the process's own).
// With a namespace, every read runs on an OS thread that entered it and
// stays locked to the sampler; Close discards that thread. That thread and
// the sampler's netlink sockets keep the namespace alive: Close the
// sampler before tearing a lab cell down.
func New(o Options) (*Sampler, error) {
	s := &Sampler{prevDrops: map[qdiscKey]uint64{}}
	if o.NetNS != "" || o.NetNSFile != nil {
		t, err := startThread(o)
		if err != nil {
			return nil, err
		}
		s.thread = t
	}
	s.do(func() {
		var err error
		if s.diag, err = newNLConn(unix.NETLINK_SOCK_DIAG); err == nil {
			// A kernel without inet_diag answers the first dump with ENOENT.
			s.count = countTCPBoth
			if err = countTCPBoth(s.diag, &TCPStates{}); err != nil {
				s.count = countTCP
				err = countTCP(s.diag, &TCPStates{})
			}
			if err != nil {
				s.diag.close()
				s.diag = nil
			}
		}
		if err != nil {
			s.setup = append(s.setup, "sock_diag unavailable, counting /proc/net/tcp: "+err.Error())
		}
		if s.route, err = newNLConn(unix.NETLINK_ROUTE); err != nil {
			s.setup = append(s.setup, "qdiscs: "+err.Error())
		}
		s.prevCounters, _ = readCounters(netDir) // a failure shows in Sample
	})
	return s, nil
}

// Sample reads the current state. It does not fail: what could not be
// read is named in State.Errors.
func (s *Sampler) Sample() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &State{Errors: append([]string(nil), s.setup...)}
	if s.closed {
		st.Errors = append(st.Errors, "sampler closed")
		return st
	}
	s.do(func() { s.sampleNS(st) })
	n, err := countFDs()
	if err != nil {
		st.Errors = append(st.Errors, "fds: "+err.Error())
	}
	st.FDs = n
	return st
}

// sampleNS does the reads that depend on the namespace.
func (s *Sampler) sampleNS(st *State) {
	fail := func(what string, err error) { st.Errors = append(st.Errors, what+": "+err.Error()) }
	if s.diag != nil {
		st.TCPSource = "sock_diag"
		if err := s.count(s.diag, &st.TCP); err != nil {
			fail("tcp states", err)
		}
	} else {
		st.TCPSource = "proc"
		if err := countTCPProc(netDir, &st.TCP); err != nil {
			fail("tcp states", err)
		}
	}
	if b, err := os.ReadFile(netDir + "/sockstat"); err != nil {
		fail("sockstat", err)
	} else if ss, err := ParseSockstat(bytes.NewReader(b)); err != nil {
		fail("sockstat", err)
	} else {
		st.Sockstat = ss
	}
	cur, err := readCounters(netDir)
	if err != nil {
		fail("counters", err)
	}
	st.Counters = deltas(s.prevCounters, cur)
	for k, v := range cur {
		s.prevCounters[k] = v
	}
	if s.route != nil {
		qs, err := s.qdiscs()
		if err != nil {
			fail("qdiscs", err)
		}
		st.Qdiscs = qs
	}
}

func (s *Sampler) qdiscs() ([]Qdisc, error) {
	raw, err := dumpQdiscs(s.route)
	if err != nil {
		return nil, err
	}
	names, err := linkNames(s.route)
	if err != nil {
		return nil, err
	}
	seen := map[qdiscKey]uint64{}
	out := make([]Qdisc, 0, len(raw))
	for _, q := range raw {
		k := qdiscKey{q.ifindex, q.handle, q.parent}
		prev := s.prevDrops[k]
		if q.drops < prev {
			prev = 0
		}
		seen[k] = q.drops
		dev := names[q.ifindex]
		if dev == "" {
			dev = fmt.Sprintf("if%d", q.ifindex)
		}
		out = append(out, Qdisc{Dev: dev, Kind: q.kind, Handle: tcHandle(q.handle), Parent: tcHandle(q.parent),
			Drops: q.drops - prev, DropsTotal: q.drops, OverlimitsTotal: q.overlimits, RequeuesTotal: q.requeues,
			Backlog: q.backlog, Qlen: q.qlen})
	}
	s.prevDrops = seen
	return out, nil
}

// Close releases the sockets and the namespace thread.
func (s *Sampler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.diag != nil {
		errs = append(errs, s.diag.close())
	}
	if s.route != nil {
		errs = append(errs, s.route.close())
	}
	if s.thread != nil {
		s.thread.stop()
	}
	return errors.Join(errs...)
}

func (s *Sampler) do(fn func()) {
	if s.thread == nil {
		fn()
		return
	}
	s.thread.do(fn)
}

// readCounters reads netstat, snmp and snmp6 of the namespace.
func readCounters(dir string) (map[string]uint64, error) {
	m := map[string]uint64{}
	var errs []error
	for _, f := range []string{"netstat", "snmp"} {
		b, err := os.ReadFile(dir + "/" + f)
		if err == nil {
			err = ParseCounterPairs(bytes.NewReader(b), m)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
		}
	}
	// snmp6 is missing when IPv6 is off.
	if b, err := os.ReadFile(dir + "/snmp6"); err == nil {
		if err := ParseSnmp6(bytes.NewReader(b), m); err != nil {
			errs = append(errs, fmt.Errorf("snmp6: %w", err))
		}
	}
	return m, errors.Join(errs...)
}

// countTCPProc counts TCP states from /proc/net/tcp and tcp6 (parsed by
// prometheus/procfs): the fallback when sock_diag is unavailable, and
// many times dearer (see BenchmarkSample*).
func countTCPProc(dir string, st *TCPStates) error {
	fs, err := procfs.NewFS(strings.TrimSuffix(dir, "/net"))
	if err != nil {
		return err
	}
	for i, read := range []func() (procfs.NetTCP, error){fs.NetTCP, fs.NetTCP6} {
		lines, err := read()
		if err != nil {
			if i == 1 && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return err
		}
		for _, l := range lines {
			st.add(uint8(l.St))
		}
	}
	return nil
}

// countFDs counts this process's descriptors. Since Linux 6.2 the size of
// /proc/self/fd is that count; older kernels report 0 and are listed.
func countFDs() (int, error) {
	fi, err := os.Stat("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	if fi.Size() > 0 {
		return int(fi.Size()), nil
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names) - 1, err // less the descriptor reading it
}

// nsThread is a goroutine locked to an OS thread that entered a network
// namespace; it runs the functions it is given there.
type nsThread struct {
	reqs chan func()
	done chan struct{}
}

func startThread(o Options) (*nsThread, error) {
	var fd int
	if o.NetNS != "" {
		f, err := os.Open(o.NetNS)
		if err != nil {
			return nil, fmt.Errorf("network namespace: %w", err)
		}
		defer f.Close()
		fd = int(f.Fd())
	} else {
		fd = int(o.NetNSFile.Fd())
	}
	t := &nsThread{reqs: make(chan func()), done: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		defer close(t.done)
		// Never unlocked: when this goroutine returns, the runtime ends
		// its thread, so no thread is left in the other namespace.
		runtime.LockOSThread()
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("network namespace %s: setns: %w", o.NetNS, err)
			return
		}
		errc <- nil
		for fn := range t.reqs {
			fn()
		}
	}()
	if err := <-errc; err != nil {
		<-t.done
		return nil, err
	}
	return t, nil
}

func (t *nsThread) do(fn func()) {
	done := make(chan struct{})
	t.reqs <- func() { fn(); close(done) }
	<-done
}

func (t *nsThread) stop() {
	close(t.reqs)
	<-t.done
}

// Supported reports whether New works on this system.
func Supported() bool { return true }
