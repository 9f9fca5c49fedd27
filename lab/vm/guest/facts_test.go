package guest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nobufs/nobufs/lab/vm"
)

// fakeProc writes files under root as a 128M guest's /proc and /sys has them
// (values from LAB.md §6).
func fakeProc(tb testing.TB, root string, files map[string]string) {
	tb.Helper()
	for p, v := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(v), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

var guest128M = map[string]string{
	"proc/sys/kernel/osrelease":            "6.1.0-48-cloud-amd64\n",
	"proc/cmdline":                         "console=ttyS0 panic=-1 acpi=off quiet NBTEST=basic\n",
	"proc/meminfo":                         "MemTotal:          94800 kB\nMemFree:           68276 kB\nMemAvailable:      70000 kB\n",
	"proc/sys/net/ipv4/tcp_mem":            "972\t1296\t1944\n",
	"proc/sys/net/ipv4/tcp_rmem":           "4096\t131072\t663936\n",
	"proc/sys/net/ipv4/tcp_wmem":           "4096\t16384\t663936\n",
	"proc/sys/net/ipv4/udp_mem":            "1944\t2592\t3888\n",
	"proc/sys/net/ipv4/tcp_max_orphans":    "512\n",
	"proc/sys/net/core/somaxconn":          "4096\n",
	"proc/sys/net/core/netdev_max_backlog": "1000\n",
	"proc/uptime":                          "2.05 1.90\n",
	"sys/devices/system/cpu/online":        "0\n",
	"sys/devices/system/clocksource/clocksource0/current_clocksource": "tsc\n",
}

func TestReadFacts(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, guest128M)
	got, err := ReadFacts(root)
	if err != nil {
		t.Fatal(err)
	}
	want := vm.Facts{
		Release: "6.1.0-48-cloud-amd64", Cmdline: "console=ttyS0 panic=-1 acpi=off quiet NBTEST=basic",
		CPUs: 1, MemTotalKB: 94800, MemAvailableKB: 70000,
		TCPMem: [3]int64{972, 1296, 1944}, TCPRmem: [3]int64{4096, 131072, 663936}, TCPWmem: [3]int64{4096, 16384, 663936},
		UDPMem: [3]int64{1944, 2592, 3888}, TCPMaxOrphans: 512, Somaxconn: 4096, NetdevMaxBacklog: 1000,
		PageSize: os.Getpagesize(), UptimeSeconds: 2.05, Clocksource: "tsc",
	}
	if got != want {
		t.Errorf("ReadFacts =\n%+v\nwant\n%+v", got, want)
	}
	if b := got.TCPMemMaxBytes(); b != 1944*int64(os.Getpagesize()) {
		t.Errorf("TCPMemMaxBytes = %d", b)
	}
}

func TestReadFactsReportsEveryProblem(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{}
	for k, v := range guest128M {
		files[k] = v
	}
	delete(files, "proc/sys/net/ipv4/tcp_mem")
	files["proc/sys/net/ipv4/tcp_wmem"] = "4096 16384\n"
	files["proc/sys/net/ipv4/tcp_max_orphans"] = "many\n"
	fakeProc(t, root, files)
	got, err := ReadFacts(root)
	if err == nil {
		t.Fatal("ReadFacts succeeded with broken files")
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Errorf("%d problems reported (%v), want 3", n, err)
	}
	if got.MemTotalKB != 94800 {
		t.Errorf("MemTotal = %d: what could be read is kept", got.MemTotalKB)
	}
}

// TestReadFactsHost reads this machine's own /proc: the parsers accept the
// real files.
func TestReadFactsHost(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv4/tcp_mem"); err != nil {
		t.Skip("no Linux /proc here")
	}
	f, err := ReadFacts("/")
	if err != nil {
		t.Fatal(err)
	}
	if f.MemTotalKB <= 0 || f.TCPMem[2] <= 0 || f.CPUs <= 0 || f.Release == "" {
		t.Errorf("host facts %+v: want MemTotal, tcp_mem, CPUs and release", f)
	}
}

func TestCountCPUs(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{{"0", 1}, {"0-3", 4}, {"0-1,4,6-7", 5}, {"x", 0}, {"3-1", 0}}
	for _, tt := range tests {
		if got := countCPUs(tt.in); got != tt.want {
			t.Errorf("countCPUs(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseKmsg(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want kmsgRecord
	}{
		{"6,1234,5678901,-;TCP: out of memory -- consider tuning tcp_mem\n", true, kmsgRecord{1234, 5678901, "TCP: out of memory -- consider tuning tcp_mem"}},
		{"3,7,100,c;Out of memory: Killed process 1 (init)\n SUBSYSTEM=x\n", true, kmsgRecord{7, 100, "Out of memory: Killed process 1 (init)"}},
		{"no semicolon", false, kmsgRecord{}},
		{"6,x,1;text", false, kmsgRecord{}},
		{"6,1;text", false, kmsgRecord{}},
	}
	for _, tt := range tests {
		got, ok := parseKmsg([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseKmsg(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEventKind(t *testing.T) {
	tests := []struct {
		text string
		kind string
	}{
		{"TCP: out of memory -- consider tuning tcp_mem", vm.EventTCPOOM},
		{"TCP: too many orphaned sockets", vm.EventOrphans},
		{"Out of memory: Killed process 1 (init) total-vm:1kB", vm.EventOOM},
		{"Out of memory and no killable processes...", vm.EventOOM},
		{"random: crng init done", ""},
	}
	for _, tt := range tests {
		kind, ok := eventKind(tt.text)
		if kind != tt.kind || ok != (tt.kind != "") {
			t.Errorf("eventKind(%q) = %q, %v; want %q", tt.text, kind, ok, tt.kind)
		}
	}
}
