package doctor

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/nobufs/nobufs/scenarios"
)

// healthy is a fake /proc of a host with nothing wrong, keyed by path
// under the root. Rows of the table tests change single files.
func healthy() map[string]string {
	return map[string]string{
		"proc/sys/net/core/somaxconn":           "4096\n",
		"proc/sys/net/ipv4/tcp_max_syn_backlog": "2048\n",
		"proc/sys/net/ipv4/tcp_syncookies":      "1\n",
		"proc/sys/net/core/rmem_max":            "212992\n",
		"proc/sys/net/core/wmem_max":            "212992\n",
		"proc/sys/net/ipv4/tcp_rmem":            "4096\t131072\t6291456\n",
		"proc/sys/net/ipv4/tcp_wmem":            "4096\t16384\t4194304\n",
		"proc/sys/net/ipv4/tcp_mem":             "10767\t14359\t21534\n",
		"proc/sys/net/ipv4/udp_mem":             "21534\t28712\t43068\n",
		"proc/sys/net/ipv4/tcp_max_orphans":     "4096\n",
		"proc/sys/net/core/netdev_max_backlog":  "1000\n",
		"proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n",
		"proc/sys/net/ipv4/tcp_tw_reuse":        "2\n",
		"proc/sys/net/ipv4/tcp_tw_reuse_delay":  "1000\n",
		"proc/sys/net/ipv4/tcp_max_tw_buckets":  "131072\n",
		"proc/sys/fs/file-max":                  "1000000\n",
		"proc/sys/fs/file-nr":                   "1280\t0\t1000000\n",
		"proc/net/netstat":                      "TcpExt: ListenOverflows ListenDrops TCPMemoryPressures TCPAbortOnMemory TCPTimeWaitOverflow\nTcpExt: 0 0 0 0 0\n",
		"proc/net/snmp":                         "Tcp: ActiveOpens OutRsts\nTcp: 10 2\nUdp: SndbufErrors RcvbufErrors\nUdp: 0 0\n",
		"proc/net/sockstat":                     "sockets: used 100\nTCP: inuse 10 orphan 0 tw 100 alloc 12 mem 5\nUDP: inuse 1 mem 0\n",
		"proc/meminfo":                          "MemTotal:        1000000 kB\n",
		"proc/pressure/memory":                  "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"proc/vmstat":                           "nr_free_pages 100\noom_kill 0\n",
		"proc/net/softnet_stat":                 "000db67e 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n",
		"proc/net/dev":                          "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n  eth0: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n",
		"proc/net/tcp":                          "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:9C40 0100007F:1F90 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000\n",
		"proc/self/fd/0":                        "",
	}
}

// fakeRoot writes files (nil values delete the key) into a temp tree.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeHost reads a fake tree with base changed by edits ("" deletes).
func fakeHost(t *testing.T, edits map[string]string, nofile *hostfacts.Rlimit, kmsg []string) *Host {
	t.Helper()
	files := healthy()
	for k, v := range edits {
		if v == "" {
			delete(files, k)
		} else {
			files[k] = v
		}
	}
	src := Sources{Root: fakeRoot(t, files), PageSize: 4096}
	if nofile != nil {
		src.NoFile = func() (hostfacts.Rlimit, error) { return *nofile, nil }
	}
	if kmsg != nil {
		src.Kmsg = func(int) ([]string, error) { return kmsg, nil }
	}
	return ReadHost(src)
}

func findCheck(t *testing.T, cs []Check, name string) Check {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q", name)
	return Check{}
}

func TestReadHostHealthy(t *testing.T) {
	h := fakeHost(t, nil, &hostfacts.Rlimit{Soft: 1 << 20, Hard: 1 << 20}, []string{"hello"})
	if len(h.Unreadable) > 0 {
		t.Errorf("unreadable: %v", h.Unreadable)
	}
	if got, want := h.Sysctls["net.ipv4.tcp_mem"], "10767 14359 21534"; got != want {
		t.Errorf("tcp_mem = %q, want %q", got, want)
	}
	if got, want := h.BusyPorts, map[uint16]int{40000: 1}; !maps.Equal(got, want) {
		t.Errorf("busy ports = %v, want %v", got, want)
	}
	if got, want := h.MemTotalBytes, uint64(1000000*1024); got != want {
		t.Errorf("mem total = %d, want %d", got, want)
	}
	for _, c := range Checks(h) {
		if c.Level != OK {
			t.Errorf("%s: level %s (%s: %s), want ok", c.Name, c.Level, c.Value, c.Why)
		}
		if c.Value == "" || c.Setting == "" || c.Why == "" {
			t.Errorf("%s: value %q, why %q, setting %q: want all set", c.Name, c.Value, c.Why, c.Setting)
		}
	}
	if got, want := len(Checks(h)), len(checkFuncs); got != want {
		t.Errorf("%d checks, want %d", got, want)
	}
}

func TestChecks(t *testing.T) {
	big := &hostfacts.Rlimit{Soft: 1 << 20, Hard: 1 << 20}
	tests := []struct {
		name   string
		check  string
		edits  map[string]string
		nofile *hostfacts.Rlimit
		kmsg   []string
		want   Level
		value  string // a substring of the value
	}{
		{"somaxconn small", "somaxconn", map[string]string{"proc/sys/net/core/somaxconn": "64\n"}, big, nil, Risk, "64"},
		{"somaxconn old default", "somaxconn", map[string]string{"proc/sys/net/core/somaxconn": "128\n"}, big, nil, Warn, "128"},
		{"somaxconn missing", "somaxconn", map[string]string{"proc/sys/net/core/somaxconn": ""}, big, nil, Unknown, "?"},
		{"syn backlog tiny, no cookies", "tcp_max_syn_backlog", map[string]string{"proc/sys/net/ipv4/tcp_max_syn_backlog": "4\n", "proc/sys/net/ipv4/tcp_syncookies": "0\n"}, big, nil, Risk, "4 (syncookies 0)"},
		{"syn backlog tiny, cookies", "tcp_max_syn_backlog", map[string]string{"proc/sys/net/ipv4/tcp_max_syn_backlog": "4\n"}, big, nil, Warn, "4 (syncookies 1)"},
		{"listen overflows seen", "listen overflows", map[string]string{"proc/net/netstat": "TcpExt: ListenOverflows ListenDrops\nTcpExt: 7 9\n"}, big, nil, Warn, "ListenOverflows 7, ListenDrops 9"},
		{"wmem_max small", "wmem_max", map[string]string{"proc/sys/net/core/wmem_max": "8192\n"}, big, nil, Warn, "8192 bytes"},
		{"rmem_max small", "rmem_max", map[string]string{"proc/sys/net/core/rmem_max": "8192\n"}, big, nil, Warn, "8192 bytes"},
		{"nofile tiny", "RLIMIT_NOFILE", nil, &hostfacts.Rlimit{Soft: 64, Hard: 1024}, nil, Risk, "soft 64, hard 1024"},
		{"nofile 20000", "RLIMIT_NOFILE", nil, &hostfacts.Rlimit{Soft: 20000, Hard: 20000}, nil, Warn, "hard 20000"},
		{"nofile unlimited", "RLIMIT_NOFILE", nil, &hostfacts.Rlimit{Soft: 1 << 20, Hard: ^uint64(0)}, nil, OK, "hard unlimited"},
		{"nofile unreadable", "RLIMIT_NOFILE", nil, nil, nil, Unknown, "?"},
		{"file table nearly full", "file-max", map[string]string{"proc/sys/fs/file-nr": "950000\t0\t1000000\n"}, big, nil, Risk, "950000 of 1000000"},
		{"memory stalls", "memory pressure", map[string]string{"proc/pressure/memory": "some avg10=40.00 avg60=20.00 avg300=1.00 total=5\nfull avg10=12.50 avg60=3.00 avg300=1.00 total=4\n"}, big, nil, Risk, "full avg10 12.50%"},
		{"some stalls", "memory pressure", map[string]string{"proc/pressure/memory": "some avg10=40.00 avg60=20.00 avg300=1.00 total=5\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=4\n"}, big, nil, Warn, "some avg10 40.00%"},
		{"no PSI", "memory pressure", map[string]string{"proc/pressure/memory": ""}, big, nil, Unknown, "?"},
		{"oom kills in vmstat", "oom kills", map[string]string{"proc/vmstat": "oom_kill 3\n"}, big, nil, Warn, "oom_kill 3 since boot; kernel log not readable"},
		{"tcp out of memory in log", "oom kills", nil, big, []string{"foo", "TCP: out of memory -- consider tuning tcp_mem", "bar"}, Risk, "1 \"TCP: out of memory\""},
		{"tcp_mem above pressure", "tcp_mem", map[string]string{"proc/net/sockstat": "TCP: inuse 10 orphan 0 tw 0 alloc 12 mem 15000\n"}, big, nil, Risk, "15000 pages in use; pressure 14359, max 21534 pages (84.1 MiB)"},
		{"tcp_mem half of pressure", "tcp_mem", map[string]string{"proc/net/sockstat": "TCP: inuse 10 orphan 0 tw 0 alloc 12 mem 8000\n"}, big, nil, Warn, "8000 pages"},
		{"tcp aborted on memory", "tcp_mem", map[string]string{"proc/net/netstat": "TcpExt: TCPMemoryPressures TCPAbortOnMemory\nTcpExt: 1 4\n"}, big, nil, Warn, "TCPAbortOnMemory 4"},
		{"tcp_wmem small max", "tcp_wmem", map[string]string{"proc/sys/net/ipv4/tcp_wmem": "4096 16384 663936\n"}, big, nil, Warn, "max 663936"},
		{"tcp_rmem small max", "tcp_rmem", map[string]string{"proc/sys/net/ipv4/tcp_rmem": "4096 87380 663936\n"}, big, nil, Warn, "max 663936"},
		{"udp sndbuf errors", "udp_mem", map[string]string{"proc/net/snmp": "Udp: SndbufErrors RcvbufErrors\nUdp: 1996 0\n"}, big, nil, Warn, "SndbufErrors 1996"},
		{"orphans at limit", "tcp_max_orphans", map[string]string{"proc/net/sockstat": "TCP: inuse 10 orphan 4096 tw 0 alloc 12 mem 5\n"}, big, nil, Risk, "4096 orphans of 4096"},
		{"interface drops", "interface drops", map[string]string{"proc/net/dev": "h1\nh2\n  veth0: 100 2 0 5 0 0 0 0 100 2 0 7 0 0 0 0\n"}, big, nil, Warn, "veth0 rx_dropped 5 tx_dropped 7"},
		{"softnet drops", "netdev_max_backlog", map[string]string{"proc/net/softnet_stat": "000db67e 00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n"}, big, nil, Warn, "softnet dropped 16"},
		{"port range small", "ip_local_port_range", map[string]string{"proc/sys/net/ipv4/ip_local_port_range": "1025\t5000\n"}, big, nil, Risk, "1025-5000 (3976 ports)"},
		{"port range medium", "ip_local_port_range", map[string]string{"proc/sys/net/ipv4/ip_local_port_range": "50000\t60000\n"}, big, nil, Warn, "10001 ports"},
		{"time_wait fills range", "TIME_WAIT", map[string]string{"proc/net/sockstat": "TCP: inuse 10 orphan 0 tw 30000 alloc 12 mem 5\n"}, big, nil, Risk, "30000 sockets; tcp_tw_reuse 2"},
		{"time_wait half range", "TIME_WAIT", map[string]string{"proc/net/sockstat": "TCP: inuse 10 orphan 0 tw 15000 alloc 12 mem 5\n", "proc/net/netstat": "TcpExt: TCPTimeWaitOverflow\nTcpExt: 3\n"}, big, nil, Warn, "TCPTimeWaitOverflow 3"},
		{"sockstat missing", "TIME_WAIT", map[string]string{"proc/net/sockstat": ""}, big, nil, Unknown, "?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHost(t, tt.edits, tt.nofile, tt.kmsg)
			c := findCheck(t, Checks(h), tt.check)
			if c.Level != tt.want {
				t.Errorf("level = %s (%s), want %s", c.Level, c.Why, tt.want)
			}
			if !strings.Contains(c.Value, tt.value) {
				t.Errorf("value = %q, want it to contain %q", c.Value, tt.value)
			}
		})
	}
}

func TestReadHostBadFiles(t *testing.T) {
	h := fakeHost(t, map[string]string{
		"proc/net/sockstat":    "nonsense\n",
		"proc/pressure/memory": "some avg10=x\n",
		"proc/net/netstat":     "TcpExt: A B\n",
	}, nil, nil)
	want := []string{"net/netstat", "net/sockstat", "pressure/memory"}
	for _, w := range want {
		found := false
		for _, u := range h.Unreadable {
			found = found || strings.HasPrefix(u, w+":")
		}
		if !found {
			t.Errorf("unreadable %v: want an entry for %s", h.Unreadable, w)
		}
	}
	kerr := errors.New("operation not permitted")
	src := Sources{Root: fakeRoot(t, healthy()), Kmsg: func(int) ([]string, error) { return nil, kerr }}
	if h := ReadHost(src); h.Kmsg != nil || !strings.Contains(strings.Join(h.Unreadable, "\n"), "kernel log: operation not permitted") {
		t.Errorf("kmsg %v, unreadable %v: want nil and a kernel log entry", h.Kmsg, h.Unreadable)
	}
}

// TestEmptyRoot: with nothing readable every check is unknown, and the
// prediction still comes out (without panicking).
func TestEmptyRoot(t *testing.T) {
	h := ReadHost(Sources{Root: t.TempDir()})
	if len(h.Unreadable) == 0 {
		t.Error("empty root: want unreadable entries")
	}
	for _, c := range Checks(h) {
		if c.Level != Unknown {
			t.Errorf("%s: level %s (%s), want unknown", c.Name, c.Level, c.Value)
		}
	}
	sc := portScenario(func(s *scenarios.Scenario) { s.PortExhaustion.SourcePorts = "" })
	p := Predict(sc, h)
	if p.Resource != ResNone {
		t.Errorf("prediction %+v, want none (nothing known)", p)
	}
	for _, l := range p.Limits {
		if l.Resource != ResMemory && !strings.HasPrefix(l.Detail, "unknown") {
			t.Errorf("limit %+v: want an unknown detail", l)
		}
	}
}
