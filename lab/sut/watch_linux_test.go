package sut

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() { helperModes["open-kmsg"] = func([]string) int { return openKmsgHelper() } }

// openKmsgHelper (helper mode) tries OpenKmsg and prints what came of it.
func openKmsgHelper() int {
	_, err := OpenKmsg(nil)
	fmt.Printf("unavailable=%v permission=%v\n", errors.Is(err, ErrKmsgUnavailable), errors.Is(err, fs.ErrPermission))
	return 0
}

// rawListen listens on loopback with the given backlog, never accepting.
func rawListen(t *testing.T, backlog int) (int, netip.AddrPort) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
}

// dialN dials addr n times (from inside netns when set) and closes the
// connections when t ends.
func dialN(t *testing.T, netns, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := DialIn(ctx, netns, addr)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		t.Cleanup(func() { c.Close() })
	}
	return conns
}

// TestPIDWatch: descriptors, limits, TCP states and the accept queue of a
// launched program; ErrGone once it is gone.
func TestPIDWatch(t *testing.T) {
	addr := freeAddr(t)
	spec := helperSpec(t, "listen", addr)
	spec.Addr, spec.NoFile = addr, 50
	p, err := Start(context.Background(), spec, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	w, err := WatchPID(p.PID())
	if err != nil {
		t.Fatal(err)
	}
	before, err := w.Sample()
	if err != nil {
		t.Fatal(err)
	}
	conns := dialN(t, "", addr, 5)
	for _, c := range conns {
		if _, err := io.ReadFull(c, make([]byte, 6)); err != nil { // "hello\n": accepted
			t.Fatal(err)
		}
	}
	s, err := w.Sample()
	if err != nil {
		t.Fatal(err)
	}
	root := s.Procs[0]
	if root.PID != p.PID() || root.NoFileSoft != 50 || root.NoFileHard != 50 || root.Threads < 1 || root.RSS == 0 {
		t.Errorf("sample %+v: want pid %d, nofile 50/50, threads and RSS", root, p.PID())
	}
	if got, want := root.FDs-before.Procs[0].FDs, 5; got != want {
		t.Errorf("fds grew by %d with 5 accepted connections, want %d", got, want)
	}
	if got := s.TCP["established"]; got < 10 {
		t.Errorf("established %d, want ≥ 10 (both ends of 5 loopback connections)", got)
	}
	ap := netip.MustParseAddrPort(addr)
	found := false
	for _, l := range s.Listen {
		if l.Addr == ap {
			found = true
		}
	}
	if !found {
		t.Errorf("listeners %v lack %s", s.Listen, ap)
	}
	if b := s.Busiest(); b.PID != p.PID() {
		t.Errorf("Busiest() = %d, want %d", b.PID, p.PID())
	}
	if err := p.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Sample(); !errors.Is(err, ErrGone) {
		t.Errorf("Sample after Stop: %v, want ErrGone", err)
	}
}

// TestAcceptQueue: a listener that never accepts, read three ways: from
// /proc/PID/net/tcp (PIDWatch), and from sock_diag with its backlog.
func TestAcceptQueue(t *testing.T) {
	_, ap := rawListen(t, 5)
	dialN(t, "", ap.String(), 3)
	w, err := WatchPID(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.Sample()
	if err != nil {
		t.Fatal(err)
	}
	var got *ListenSample
	for i, l := range s.Listen {
		if l.Addr == ap {
			got = &s.Listen[i]
		}
	}
	if got == nil || got.Queue != 3 {
		t.Errorf("PIDWatch listener %s: %v, want queue 3", ap, got)
	}
	qs, err := ListenQueues("", ap.Port())
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].Addr != ap || qs[0].Queue != 3 || qs[0].Backlog != 5 {
		t.Errorf("ListenQueues(%d) = %+v, want one listener %s with queue 3, backlog 5", ap.Port(), qs, ap)
	}
}

// TestDiagInNetns: a Diag opened in a namespace sees that namespace's
// sockets only; the port filter keeps one socket; Mem reports SO_RCVBUF.
func TestDiagInNetns(t *testing.T) {
	needRoot(t)
	ns := newNetns(t)
	addr := netip.MustParseAddrPort("127.0.0.1:7071")
	var lfd int
	err := InNetns(ns, func() error {
		var err error
		lfd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(lfd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}); err != nil {
			return err
		}
		return unix.Listen(lfd, 4)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	// A client with SO_RCVBUF 8192 (the kernel keeps twice that).
	var client net.Conn
	err = InNetns(ns, func() error {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 8192) }); err != nil {
				return err
			}
			return serr
		}}
		var err error
		client, err = d.Dial("tcp", addr.String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	dialN(t, ns, addr.String(), 1)

	d, err := OpenDiag(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	qs, err := d.Listeners(addr.Port())
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].Queue != 2 || qs[0].Backlog != 4 {
		t.Errorf("Listeners in %s = %+v, want queue 2, backlog 4", ns, qs)
	}
	local := netip.MustParseAddrPort(client.LocalAddr().String())
	socks, err := d.Sockets(DiagQuery{States: []uint8{StateEstablished}, Port: local.Port(), Mem: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 1 || socks[0].Local != local || socks[0].Remote != addr || socks[0].RcvBuf != 16384 || socks[0].SndBuf == 0 {
		t.Errorf("Sockets(port %d) = %+v, want the client alone, rcvbuf 16384", local.Port(), socks)
	}
	host, err := ListenQueues("", addr.Port())
	if err != nil {
		t.Fatal(err)
	}
	if len(host) != 0 {
		t.Errorf("host namespace sees %+v on port %d, want none", host, addr.Port())
	}
}

func TestParseProcAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000:0050", "0.0.0.0:80"},
		{"00000000000000000000000001000000:1F90", "[::1]:8080"},
		{"0000000000000000FFFF00000100007F:0050", "127.0.0.1:80"},
	}
	for _, tt := range tests {
		got, err := parseProcAddr(tt.in)
		if err != nil || got.String() != tt.want {
			t.Errorf("parseProcAddr(%s) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestLogWatchFeed(t *testing.T) {
	w, err := NewLogWatch([]Rule{
		{regexp.MustCompile(`accept4\(\) failed \(24: Too many open files\)`), "server-emfile"},
		{regexp.MustCompile(`worker_connections are not enough`), "server-worker-connections"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	long := "2026/12/01 11:12:05 [alert] 21914#21914: 16 worker_connections are not enough " + strings.Repeat("x", 300)
	lines := []string{
		"2026/12/01 11:12:05 [notice] start worker processes",
		"2026/12/01 11:12:05 [crit] 21914#21914: accept4() failed (24: Too many open files)",
		long,
		"2026/12/01 11:12:06 [crit] 21914#21914: accept4() failed (24: Too many open files)",
	}
	var classes []string
	for i, l := range lines {
		classes = append(classes, w.Feed(l, t0.Add(time.Duration(i)*time.Second)))
	}
	if got, want := strings.Join(classes, ","), ",server-emfile,server-worker-connections,server-emfile"; got != want {
		t.Errorf("classes %q, want %q", got, want)
	}
	s, _ := w.Sample()
	if s.Lines != 4 || len(s.Matches) != 2 {
		t.Fatalf("sample %+v, want 4 lines, 2 classes", s)
	}
	m, ok := s.Match("server-emfile")
	if !ok || m.Count != 2 || !m.First.Equal(t0.Add(time.Second)) || m.FirstLine != lines[1] {
		t.Errorf("emfile match %+v, want count 2, first at +1s, the first line", m)
	}
	if m, _ := s.Match("server-worker-connections"); len(m.FirstLine) != MaxMatchLine || !strings.HasPrefix(long, m.FirstLine) {
		t.Errorf("long first line kept as %d bytes, want its first %d", len(m.FirstLine), MaxMatchLine)
	}
	if _, err := NewLogWatch(nil); !errors.Is(err, ErrNoRules) {
		t.Errorf("NewLogWatch(nil) = %v, want ErrNoRules", err)
	}
}

// TestLogWatchFollow: appends, a partial line, truncation and rotation;
// every line is classified once.
func TestLogWatchFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "error.log")
	write := func(flag int, s string) {
		f, err := os.OpenFile(path, flag|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write(os.O_TRUNC, "old hit\n") // before Follow: not read
	w, err := NewLogWatch([]Rule{{regexp.MustCompile(`hit`), "hit"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Follow(path, false); err != nil {
		t.Fatal(err)
	}
	count := func() (uint64, uint64) {
		s, err := w.Sample()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := s.Match("hit")
		return s.Lines, m.Count
	}
	steps := []struct {
		name       string
		do         func()
		lines, hit uint64
	}{
		{"append", func() { write(os.O_APPEND, "hit 1\nmiss\n") }, 2, 1},
		{"partial line waits", func() { write(os.O_APPEND, "hit 2") }, 2, 1},
		{"its end", func() { write(os.O_APPEND, " done\r\n") }, 3, 2},
		{"truncated", func() { write(os.O_TRUNC, "hit 3\n") }, 4, 3},
		{"rotated", func() {
			write(os.O_APPEND, "hit 4\n")
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			write(os.O_TRUNC, "hit 5\nmiss\n")
		}, 7, 5},
		{"nothing new", func() {}, 7, 5},
	}
	for _, st := range steps {
		st.do()
		if lines, hit := count(); lines != st.lines || hit != st.hit {
			t.Errorf("%s: lines %d, hits %d; want %d, %d", st.name, lines, hit, st.lines, st.hit)
		}
	}
}

func TestParseKmsg(t *testing.T) {
	tests := []struct {
		in   string
		want KmsgRecord
		bad  bool
	}{
		{"6,344,122749101,-;TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:80. Sending cookies.\n SUBSYSTEM=net\n",
			KmsgRecord{Level: 6, Seq: 344, Time: 122749101 * time.Microsecond, Text: "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:80. Sending cookies."}, false},
		{"12,9,5,c,caller=T1;user line", KmsgRecord{Level: 4, Seq: 9, Time: 5 * time.Microsecond, Text: "user line"}, false},
		{"no separator", KmsgRecord{}, true},
		{"x,1,2,-;text", KmsgRecord{}, true},
	}
	for _, tt := range tests {
		got, err := ParseKmsg(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseKmsg(%q) = %+v, %v; want %+v (bad %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
	// Each default rule knows its kernel line.
	lines := map[string]string{
		ClassKernelSYNFlood:     "TCP: request_sock_TCP: Possible SYN flooding on port [::1]:8080. Sending cookies.  Check SNMP counters.",
		ClassKernelTCPOOM:       "TCP: out of memory -- consider tuning tcp_mem",
		ClassKernelOrphans:      "TCP: too many orphaned sockets",
		ClassKernelTWOverflow:   "TCP: time wait bucket table overflow",
		ClassKernelConntrack:    "nf_conntrack: nf_conntrack: table full, dropping packet",
		ClassKernelFileMax:      "VFS: file-max limit 8192 reached",
		ClassKernelNeighOverflw: "neighbour: arp_cache: neighbor table overflow!",
		ClassKernelOOMKill:      "Out of memory: Killed process 4242 (redis-server) total-vm:1000kB",
	}
	for class, line := range lines {
		m := matcher{rules: KmsgRules}
		if got := m.feed(line, time.Now(), 0); got != class {
			t.Errorf("%q: class %q, want %q", line, got, class)
		}
	}
}

// TestKmsgWatch writes a marker to the kernel log and finds it (root), and
// checks that a missing /dev/kmsg and an unprivileged reader are error
// values.
func TestKmsgWatch(t *testing.T) {
	if _, err := openKmsg(filepath.Join(t.TempDir(), "no-kmsg"), nil); !errors.Is(err, ErrKmsgUnavailable) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing kmsg: %v, want ErrKmsgUnavailable and ErrNotExist", err)
	}
	needRoot(t)
	k, err := OpenKmsg([]Rule{{regexp.MustCompile(`nobufs-sut-test [0-9a-f]{16} marker`), "test-marker"}})
	if errors.Is(err, ErrKmsgUnavailable) {
		t.Skipf("no kernel log here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	nonce := make([]byte, 8)
	rand.Read(nonce)
	marker := "nobufs-sut-test " + hex.EncodeToString(nonce) + " marker"
	if err := os.WriteFile("/dev/kmsg", []byte("<6>"+marker+"\n"), 0); err != nil {
		t.Skipf("cannot write the kernel log: %v", err)
	}
	var got *KmsgEvent
	for deadline := time.Now().Add(5 * time.Second); got == nil && time.Now().Before(deadline); {
		s, err := k.Sample()
		if err != nil {
			t.Fatal(err)
		}
		for i := range s.Events {
			if s.Events[i].Text == marker {
				got = &s.Events[i]
			}
		}
		if got == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got == nil {
		t.Fatal("marker not seen in 5s")
	}
	if got.Class != "test-marker" || got.Level != 6 || got.Kernel <= 0 {
		t.Errorf("event %+v, want class test-marker, level 6, a kernel time", got)
	}
	s, _ := k.Sample()
	if m, ok := s.Match("test-marker"); !ok || m.Count != 1 || m.Kernel != got.Kernel || len(s.Events) != 0 {
		t.Errorf("second sample %+v: want the match kept (count 1), no new events", s)
	}

	// Unprivileged (uid 65534) with kernel.dmesg_restrict=1: ErrKmsgUnavailable, ErrPermission.
	if b, _ := os.ReadFile("/proc/sys/kernel/dmesg_restrict"); strings.TrimSpace(string(b)) != "1" {
		t.Skip("kernel.dmesg_restrict is not 1: an unprivileged reader is allowed")
	}
	exe := publicCopy(t)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnvFor("open-kmsg")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as nobody: %v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "unavailable=true permission=true"; got != want {
		t.Errorf("OpenKmsg as nobody: %s, want %s", got, want)
	}
}

// publicCopy copies the test binary where uid 65534 can run it.
func publicCopy(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "sut.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}
