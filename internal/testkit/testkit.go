// Package testkit holds helpers shared by the tests of several packages.
// Nothing outside tests imports it.
package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nobufs/nobufs/scenarios"
)

// WaitFor polls cond every 5 ms until it holds, failing the test after
// 10 s: tests wait for events this way, never with a fixed sleep.
func WaitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// NeedProgram skips the test when the program name is not on $PATH (a
// real server such as tor or nginx; CI installs them).
func NeedProgram(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed: %v", name, err)
	}
}

// NeedLoopback8 skips tests that use loopback addresses besides
// 127.0.0.1: Linux routes all of 127.0.0.0/8 to lo, other systems
// configure one.
func NeedLoopback8(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs all of 127.0.0.0/8 on loopback (Linux)")
	}
}

// FDCount returns how many descriptors this process has open (Linux; -1
// elsewhere).
func FDCount() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// Parse decodes a scenario the way files are decoded, named after the test.
func Parse(t testing.TB, src string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse(t.Name()+".yaml", []byte(src))
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return sc
}

// Root returns the module's root directory (where go.mod is), for tests
// that read scenarios.d or docs.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("no go.mod above the test's directory")
	return ""
}

// Shipped loads a file of scenarios.d (name relative to it).
func Shipped(t testing.TB, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.LoadFile(filepath.Join(Root(t), "scenarios.d", name))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return sc
}

// InsideSystemRange reports whether [lo, hi] lies inside this host's
// ephemeral port range (net.ipv4.ip_local_port_range), where the kernel
// honours IP_LOCAL_PORT_RANGE.
func InsideSystemRange(lo, hi int) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return false
	}
	var slo, shi int
	if _, err := fmt.Sscanf(string(b), "%d %d", &slo, &shi); err != nil {
		return false
	}
	return slo <= lo && hi <= shi
}

// Serve runs a scripted TCP server on 127.0.0.1 and returns its address:
// fn handles the i-th accepted connection (1-based) on a goroutine of its
// own and returns when it is done with it; the connection is closed then.
// The listener and every connection still open are closed, and every
// handler waited for, when the test ends.
func Serve(t testing.TB, fn func(i int, c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	var n atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			i := int(n.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				fn(i, c.(*net.TCPConn))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
