package hoststate

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// openConns opens n loopback connections (2n sockets) and a listener; the
// test's cleanup closes them all.
func openConns(tb testing.TB, n int) {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var conns []net.Conn
	tb.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		ln.Close()
	})
	for range n {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			tb.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		s, err := ln.Accept()
		if err != nil {
			tb.Fatalf("accept: %v", err)
		}
		conns = append(conns, s)
	}
}

func TestSampleHost(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 20
	openConns(t, n)
	st := s.Sample()
	if len(st.Errors) > 0 {
		t.Errorf("errors: %v", st.Errors)
	}
	if got, want := st.TCPSource, "sock_diag"; got != want {
		t.Errorf("tcp_source = %q, want %q", got, want)
	}
	if st.TCP.Established < 2*n {
		t.Errorf("established = %d, want >= %d", st.TCP.Established, 2*n)
	}
	if st.TCP.Listen < 1 {
		t.Errorf("listen = %d, want >= 1", st.TCP.Listen)
	}
	if st.FDs < 2*n+1 {
		t.Errorf("fds = %d, want >= %d", st.FDs, 2*n+1)
	}
	if st.Sockstat == nil || st.Sockstat.TCPInUse < 2*n {
		t.Errorf("sockstat = %+v, want tcp_inuse >= %d", st.Sockstat, 2*n)
	}
	if got := st.Counters["Tcp.ActiveOpens"]; got < n {
		t.Errorf("counters Tcp.ActiveOpens delta = %d, want >= %d", got, n)
	}
	// The three ways of counting see the same connections.
	var proc, v2 TCPStates
	if err := countTCPProc(netDir, &proc); err != nil {
		t.Fatal(err)
	}
	if err := countTCP(s.diag, &v2); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]int{"/proc/net/tcp": proc.Established, "SOCK_DIAG_BY_FAMILY": v2.Established} {
		if got < 2*n {
			t.Errorf("%s established = %d, want >= %d", name, got, 2*n)
		}
	}
}

// newNetNS makes a network namespace that lives as long as the returned
// file, without a name to clean up.
func newNetNS(t *testing.T) *os.File {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	type res struct {
		f   *os.File
		err error
	}
	ch := make(chan res)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- res{nil, err}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		ch <- res{f, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Skipf("cannot create a network namespace: %v", r.err)
	}
	t.Cleanup(func() { r.f.Close() })
	return r.f
}

func TestSampleNetNS(t *testing.T) {
	ns := newNetNS(t)
	openConns(t, 5) // in the host namespace: must not be seen
	// A listener inside the namespace: must be seen.
	lnc := make(chan error)
	var lfd int
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			lnc <- err
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrInet4{})
		}
		if err == nil {
			err = unix.Listen(fd, 4)
		}
		lfd = fd
		lnc <- err
	}()
	if err := <-lnc; err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)

	for _, o := range []struct {
		name string
		opts Options
	}{
		{"file", Options{NetNSFile: ns}},
		{"path", Options{NetNS: "/proc/self/fd/" + strconv.Itoa(int(ns.Fd()))}},
	} {
		t.Run(o.name, func(t *testing.T) {
			s, err := New(o.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			st := s.Sample()
			if len(st.Errors) > 0 {
				t.Errorf("errors: %v", st.Errors)
			}
			want := TCPStates{Listen: 1}
			if st.TCP != want {
				t.Errorf("tcp = %+v, want %+v (only the namespace's listener)", st.TCP, want)
			}
			if st.Sockstat == nil || st.Sockstat.TCPInUse != 1 {
				t.Errorf("sockstat = %+v, want tcp_inuse 1", st.Sockstat)
			}
			for _, q := range st.Qdiscs {
				if q.Dev != "lo" {
					t.Errorf("qdisc on %s: only lo exists in the namespace", q.Dev)
				}
			}
		})
	}
	// The calling thread is still in the host namespace.
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st := s.Sample(); st.TCP.Established < 10 {
		t.Errorf("host established = %d after namespace sampling, want >= 10", st.TCP.Established)
	}
}

func TestNewBadNetNS(t *testing.T) {
	if _, err := New(Options{NetNS: "/nonexistent/netns"}); err == nil {
		t.Error("New with a missing namespace: want an error")
	}
	f, err := os.Open("/proc/self/stat") // not a namespace
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := New(Options{NetNSFile: f}); err == nil {
		t.Error("New with a non-namespace file: want an error")
	}
}

// inNS runs fn on a thread in namespace ns; the thread is discarded after.
func inNS(t *testing.T, ns *os.File, fn func() error) {
	t.Helper()
	errc := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestQdiscDrops(t *testing.T) {
	ns := newNetNS(t)
	tc, err := exec.LookPath("tc")
	if err != nil {
		t.Skip("tc not installed")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("ip not installed")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter not installed")
	}
	nsPath := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.Fd())
	for _, args := range [][]string{
		{ip, "link", "set", "lo", "up"},
		{tc, "qdisc", "add", "dev", "lo", "root", "handle", "1:", "tbf", "rate", "1mbit", "burst", "1600", "limit", "1600"},
	} {
		if out, err := exec.Command("nsenter", append([]string{"--net=" + nsPath}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	s, err := New(Options{NetNSFile: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.Sample()
	const sends = 200
	inNS(t, ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		buf := make([]byte, 1000)
		to := &unix.SockaddrInet4{Port: 9, Addr: [4]byte{127, 0, 0, 1}}
		for range sends {
			_ = unix.Sendto(fd, buf, 0, to) // drops are silent without IP_RECVERR
		}
		return nil
	})
	st := s.Sample()
	if len(st.Errors) > 0 {
		t.Errorf("errors: %v", st.Errors)
	}
	var tbf *Qdisc
	for i, q := range st.Qdiscs {
		if q.Dev == "lo" && q.Kind == "tbf" {
			tbf = &st.Qdiscs[i]
		}
	}
	if tbf == nil {
		t.Fatalf("no tbf qdisc on lo in %+v", st.Qdiscs)
	}
	if tbf.Drops == 0 || tbf.Drops != tbf.DropsTotal || tbf.Drops > sends {
		t.Errorf("tbf drops = %d (total %d), want 1..%d, all in this interval", tbf.Drops, tbf.DropsTotal, sends)
	}
	if got, want := tbf.Handle, "1:0"; got != want {
		t.Errorf("handle = %q, want %q", got, want)
	}
	if got, want := tbf.Parent, "root"; got != want {
		t.Errorf("parent = %q, want %q", got, want)
	}
	if got := st.Counters["Udp.SndbufErrors"]; got == 0 {
		t.Errorf("Udp.SndbufErrors delta = 0, want > 0 (counters %v)", st.Counters)
	}
	// The next sample holds only what moved since (nothing: the
	// namespace is the test's own).
	next := s.Sample()
	for _, q := range next.Qdiscs {
		if q.Drops != 0 {
			t.Errorf("next sample: %s %s drops = %d, want 0", q.Dev, q.Kind, q.Drops)
		}
	}
	if got := next.Counters["Udp.SndbufErrors"]; got != 0 {
		t.Errorf("next sample Udp.SndbufErrors delta = %d, want 0", got)
	}
}
