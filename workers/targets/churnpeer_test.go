package targets

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// TestChurnPeer checks the built-in churn-peer: one port on consecutive
// loopback addresses, each answering a burst with the reply length asked,
// and refusing an oversized header.
func TestChurnPeer(t *testing.T) {
	testkit.NeedLoopback8(t)
	tgt, err := Start(scenarios.TargetChurnPeer, "127.42.9.1:0", scenarios.TargetOptions{Peers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	addrs := tgt.(*stream).Addrs()
	if got, want := len(addrs), 3; got != want {
		t.Fatalf("listening on %d addresses, want %d", got, want)
	}
	port := addrs[0].(*net.TCPAddr).Port
	for i, a := range addrs {
		ta := a.(*net.TCPAddr)
		if got, want := ta.IP.String(), net.IPv4(127, 42, 9, byte(1+i)).String(); got != want || ta.Port != port {
			t.Errorf("address %d = %s, want %s:%d", i, a, want, port)
		}
	}
	tests := []struct {
		send, reply uint32
	}{
		{0, 0},         // an empty burst still gets its (empty) answer
		{10, 100000},   // small request, large reply
		{70000, 1},     // payload larger than one write buffer
		{4096, 65536},  // typical
		{1 << 20, 123}, // a MiB up
	}
	for i, tt := range tests {
		c, err := net.Dial("tcp", addrs[i%len(addrs)].String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		for range 2 { // two bursts on one connection
			var hdr [ChurnHeaderLen]byte
			PutChurnHeader(hdr[:], tt.send, tt.reply)
			if _, err := c.Write(append(hdr[:], make([]byte, tt.send)...)); err != nil {
				t.Fatal(err)
			}
			n, err := io.CopyN(io.Discard, c, int64(tt.reply))
			if err != nil || n != int64(tt.reply) {
				t.Fatalf("send %d reply %d: read %d, %v", tt.send, tt.reply, n, err)
			}
		}
		_ = c.Close()
	}
	// An oversized burst ends the connection.
	c, err := net.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var hdr [ChurnHeaderLen]byte
	binary.BigEndian.PutUint32(hdr[4:], ChurnMaxBurst+1)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(hdr[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after an oversized header: %v, want EOF", err)
	}
	testkit.WaitFor(t, func() bool { return len(tgt.Info().ServerErrors) == 1 })
	if errs := tgt.Info().ServerErrors; len(errs) != 1 || errs[0].Class != errclass.ClassOther {
		t.Errorf("target errors = %+v, want one of class other", errs)
	}
}
