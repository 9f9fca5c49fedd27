package testrun

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/workers"
)

// PrivateNetNS makes a network namespace of the test's own (root only),
// with its loopback up, and returns it as a placement for the engine: the
// target and the load both run inside it, on its 127.0.0.1. Nothing else on
// the host shares its ports or its TIME_WAITs, so a test that counts ports
// is exact however busy the host is. It returns nil when namespaces cannot
// be made here; the namespace goes when the test ends (its fd is closed and
// no thread is left in it).
//
// The namespace has net.ipv4.tcp_rfc1337 = 1: a TIME_WAIT socket then
// ignores an RST instead of ending. With the default (0), under load, the
// peer's late delayed ACK draws an ACK from the TIME_WAIT, the peer (closed
// by then) answers with an RST, and the RST ends the TIME_WAIT and frees
// its port (docs/lab.md#ports-freed-early):
// 50 ports gave 52 to 84 connects in 6 of 300 runs beside six busy
// loops, none in 300 with the setting.
func PrivateNetNS(t testing.TB) *workers.Namespaces {
	t.Helper()
	type made struct {
		fd  int
		err error
	}
	ch := make(chan made, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: this thread is in the new namespace and dies
		// with the goroutine.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- made{-1, err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			var lo netlink.Link
			if lo, err = netlink.LinkByName("lo"); err == nil {
				err = netlink.LinkSetUp(lo)
			}
			if err == nil {
				// /proc/sys/net is the namespace of the thread that opens it.
				err = os.WriteFile("/proc/sys/net/ipv4/tcp_rfc1337", []byte("1"), 0)
			}
		}
		ch <- made{fd, err}
	}()
	m := <-ch
	if m.err != nil {
		if m.fd >= 0 {
			unix.Close(m.fd)
		}
		return nil
	}
	t.Cleanup(func() { unix.Close(m.fd) })
	enter := func() error { return unix.Setns(m.fd, unix.CLONE_NEWNET) }
	return &workers.Namespaces{
		Name:        "test-" + t.Name(),
		ClientPath:  fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), m.fd),
		TargetPath:  fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), m.fd),
		TargetAddr:  netip.MustParseAddr("127.0.0.1"),
		EnterClient: enter,
		EnterTarget: enter,
	}
}
