package sut

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestKmsgSYNFlood provokes the kernel's own "Possible SYN flooding" line
// in a network namespace the test made: the namespace drops every pure ACK
// to a listener (nft), so handshakes stay half-open (SYN_RECV) and its SYN
// queue, bounded by the backlog 2, fills. KmsgWatch must see the line with
// the listener's port.
func TestKmsgSYNFlood(t *testing.T) {
	needRoot(t)
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("needs nft (nftables)")
	}
	ns := newNetns(t)
	port := 20000 + rand.IntN(20000)
	rules := fmt.Sprintf(`table inet nbsut {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp dport %d tcp flags & (syn | ack) == ack drop
	}
}
`, port)
	cmd := exec.Command("ip", "netns", "exec", strings.TrimPrefix(ns, "/run/netns/"), nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	k, err := OpenKmsg(nil)
	if err != nil {
		t.Skipf("kernel log: %v", err)
	}
	defer k.Close()

	var lfd int
	if err := InNetns(ns, func() error {
		var err error
		if lfd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		if err := unix.Bind(lfd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		return unix.Listen(lfd, 2)
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for range 6 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := DialIn(ctx, ns, addr)
		cancel()
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		defer c.Close()
	}
	want := fmt.Sprintf("Possible SYN flooding on port 127.0.0.1:%d.", port)
	var got *KmsgEvent
	for deadline := time.Now().Add(5 * time.Second); got == nil && time.Now().Before(deadline); {
		s, err := k.Sample()
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range s.Events {
			if strings.Contains(e.Text, want) {
				got = &s.Events[i]
			}
		}
		if got == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	cookies := netstat(t, ns, "TCPReqQFullDoCookies")
	if got == nil {
		if cookies > 0 {
			t.Skipf("the SYN queue overflowed (TCPReqQFullDoCookies %d) but the kernel printed nothing: net_ratelimit suppressed it", cookies)
		}
		t.Fatalf("no %q in the kernel log within 5s (TCPReqQFullDoCookies %d)", want, cookies)
	}
	if got.Class != ClassKernelSYNFlood {
		t.Errorf("event class %q, want %s", got.Class, ClassKernelSYNFlood)
	}
	t.Logf("measured: kernel, SYN queue of a backlog-2 listener full (ACKs dropped): %q at %v after boot; TCPReqQFullDoCookies %d", got.Text, got.Kernel, cookies)
}

// netstat reads one TcpExt counter of the namespace's /proc/net/netstat.
func netstat(t *testing.T, ns, name string) int64 {
	t.Helper()
	var b []byte
	if err := InNetns(ns, func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/netstat")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte{'\n'})
	for i := 0; i+1 < len(lines); i += 2 {
		keys, vals := strings.Fields(string(lines[i])), strings.Fields(string(lines[i+1]))
		for j := 1; j < len(keys) && j < len(vals); j++ {
			if keys[j] == name {
				v, _ := strconv.ParseInt(vals[j], 10, 64)
				return v
			}
		}
	}
	return -1
}
