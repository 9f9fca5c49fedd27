package hoststate

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseCounterPairs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]uint64
		wantErr error
	}{
		{
			name: "netstat and snmp sections; -1 (Tcp MaxConn) skipped",
			in: "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 7 9\n" +
				"Tcp: RtoAlgorithm MaxConn OutRsts\nTcp: 1 -1 42\n",
			want: map[string]uint64{"TcpExt.SyncookiesSent": 1, "TcpExt.ListenOverflows": 7, "TcpExt.ListenDrops": 9, "Tcp.RtoAlgorithm": 1, "Tcp.OutRsts": 42},
		},
		{name: "header without values", in: "TcpExt: A B\n", wantErr: ErrFormat},
		{name: "sections do not pair", in: "TcpExt: A\nIpExt: 1\n", wantErr: ErrFormat},
		{name: "count mismatch", in: "TcpExt: A B\nTcpExt: 1\n", wantErr: ErrFormat},
		{name: "empty", in: "", want: map[string]uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]uint64{}
			err := ParseCounterPairs(strings.NewReader(tt.in), got)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseSnmp6(t *testing.T) {
	in := "Ip6InReceives                   \t12\nUdp6SndbufErrors  3\nUdpLite6InErrors 4\nIcmp6InMsgs 5\nbogus line here\n"
	got := map[string]uint64{}
	if err := ParseSnmp6(strings.NewReader(in), got); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"Ip6.InReceives": 12, "Udp6.SndbufErrors": 3, "UdpLite6.InErrors": 4, "Icmp6.InMsgs": 5}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseSockstat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Sockstat
		wantErr error
	}{
		{
			name: "full",
			in: "sockets: used 291\nTCP: inuse 7 orphan 1 tw 60 alloc 12 mem 3\nUDP: inuse 2 mem 5\n" +
				"UDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n",
			want: Sockstat{SocketsUsed: 291, TCPInUse: 7, TCPOrphan: 1, TCPTimeWait: 60, TCPAlloc: 12, TCPMemPages: 3, UDPInUse: 2, UDPMemPages: 5},
		},
		{name: "no TCP line", in: "sockets: used 1\n", wantErr: ErrFormat},
		{name: "odd fields", in: "TCP: inuse 7 orphan\n", wantErr: ErrFormat},
		{name: "not a number", in: "TCP: inuse x\n", wantErr: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSockstat(strings.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestDeltas(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur map[string]uint64
		want      map[string]uint64
	}{
		{"moved and unmoved", map[string]uint64{"Tcp.OutRsts": 5, "TcpExt.ListenDrops": 2}, map[string]uint64{"Tcp.OutRsts": 9, "TcpExt.ListenDrops": 2}, map[string]uint64{"Tcp.OutRsts": 4}},
		{"reset counts from zero", map[string]uint64{"Tcp.OutRsts": 50}, map[string]uint64{"Tcp.OutRsts": 3}, map[string]uint64{"Tcp.OutRsts": 3}},
		{"not in Counters ignored", nil, map[string]uint64{"Tcp.Unlisted": 3}, nil},
		{"no baseline, no delta", nil, map[string]uint64{"Udp.SndbufErrors": 1}, nil},
		{"missing now, no delta", map[string]uint64{"Udp.SndbufErrors": 1}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deltas(tt.prev, tt.cur); !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTCPStatesAdd(t *testing.T) {
	var s TCPStates
	for _, st := range []uint8{1, 1, 2, 3, 12, 4, 5, 6, 6, 6, 7, 8, 9, 10, 11, 13} {
		s.add(st)
	}
	want := TCPStates{Established: 2, SynSent: 1, SynRecv: 2, FinWait1: 1, FinWait2: 1, TimeWait: 3, Close: 1, CloseWait: 1, LastAck: 1, Listen: 1, Closing: 1, Other: 1}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if got, want := s.Total(), 16; got != want {
		t.Errorf("Total() = %d, want %d", got, want)
	}
}
