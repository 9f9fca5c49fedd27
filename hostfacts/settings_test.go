package hostfacts

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSysctlPath(t *testing.T) {
	root := filepath.Join("proc", "sys")
	tests := []struct {
		name    string
		want    string
		wantErr bool
	}{
		{name: "net.core.somaxconn", want: filepath.Join(root, "net", "core", "somaxconn")},
		{name: "fs.file-max", want: filepath.Join(root, "fs", "file-max")},
		{name: "net.ipv4.ip_local_port_range", want: filepath.Join(root, "net", "ipv4", "ip_local_port_range")},
		{name: "kernel", want: filepath.Join(root, "kernel")},
		{name: "", wantErr: true},
		{name: ".", wantErr: true},
		{name: "..", wantErr: true},
		{name: "...", wantErr: true},
		{name: "net..core", wantErr: true},
		{name: ".net.core", wantErr: true},
		{name: "net.core.", wantErr: true},
		{name: "net/../../etc/passwd", wantErr: true},
		{name: "../etc", wantErr: true},
		{name: "net.core/somaxconn", wantErr: true},
		{name: "/etc.passwd", wantErr: true},
		{name: `net\..\..\x`, wantErr: true},
		{name: "net.co\x00re", wantErr: true},
	}
	for _, tt := range tests {
		got, err := SysctlPath(root, tt.name)
		if tt.wantErr {
			if err == nil {
				t.Errorf("SysctlPath(%q, %q) = %q, want an error", root, tt.name, got)
			} else if !errors.Is(err, ErrSysctlName) {
				t.Errorf("SysctlPath(%q, %q) error %v does not wrap ErrSysctlName", root, tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("SysctlPath(%q, %q) error: %v", root, tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("SysctlPath(%q, %q) = %q, want %q", root, tt.name, got, tt.want)
		}
	}
}

// fakeSysctlRoot makes a /proc/sys look-alike holding files (dotted name →
// content) and returns its root.
func fakeSysctlRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p, err := SysctlPath(root, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadSysctl(t *testing.T) {
	root := fakeSysctlRoot(t, map[string]string{
		"net.ipv4.tcp_rmem":                "4096\t131072\t6291456\n",
		"net.ipv4.ip_local_port_range":     "32768\t60999\n",
		"net.core.somaxconn":               "4096\n",
		"net.ipv4.ip_local_reserved_ports": "\n",
		"fs.spaced":                        "  a   b \t\t c  \n d\n",
	})
	tests := []struct {
		name    string
		want    string
		wantErr error // nil means no error
	}{
		{name: "net.ipv4.tcp_rmem", want: "4096 131072 6291456"},
		{name: "net.ipv4.ip_local_port_range", want: "32768 60999"},
		{name: "net.core.somaxconn", want: "4096"},
		{name: "net.ipv4.ip_local_reserved_ports", want: ""},
		{name: "fs.spaced", want: "a b c d"},
		{name: "net.ipv4.tcp_tw_reuse_delay", wantErr: fs.ErrNotExist},
		{name: "nosuch.dir.entry", wantErr: fs.ErrNotExist},
		{name: "net..core", wantErr: ErrSysctlName},
		{name: "net/../../x", wantErr: ErrSysctlName},
	}
	for _, tt := range tests {
		got, err := ReadSysctl(root, tt.name)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ReadSysctl(%q) = %q, %v; want error matching %v", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ReadSysctl(%q) error: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ReadSysctl(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestReadSysctlErrorNamesSysctl(t *testing.T) {
	_, err := ReadSysctl(t.TempDir(), "net.core.somaxconn")
	if err == nil || !strings.Contains(err.Error(), "net.core.somaxconn") {
		t.Errorf("error %v should name the sysctl", err)
	}
}

func TestReadSettingsPortable(t *testing.T) {
	s := ReadSettings()
	checks := []struct {
		what      string
		got, want any
	}{
		{"OS", s.OS, runtime.GOOS},
		{"Arch", s.Arch, runtime.GOARCH},
		{"NumCPU", s.NumCPU, runtime.NumCPU()},
		{"GoVersion", s.GoVersion, runtime.Version()},
		{"Sysctls != nil", s.Sysctls != nil, true},
		{"Registry != nil", s.Registry != nil, true},
		{"Rlimits != nil", s.Rlimits != nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if h, err := os.Hostname(); err == nil && s.Hostname != h {
		t.Errorf("Hostname = %q, want %q", s.Hostname, h)
	}
	for _, e := range s.Errors {
		if e == "" || strings.ContainsAny(e, "\r\n") {
			t.Errorf("Errors entry %q is not a single non-empty line", e)
		}
	}
	if len(s.Errors) > 0 {
		t.Logf("settings errors (not fatal): %q", s.Errors)
	}

	// The snapshot round-trips through JSON (it is embedded in summaries).
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.OS != s.OS || back.Kernel != s.Kernel || back.MemTotalBytes != s.MemTotalBytes ||
		len(back.Sysctls) != len(s.Sysctls) || len(back.Rlimits) != len(s.Rlimits) || len(back.Registry) != len(s.Registry) {
		t.Errorf("JSON round trip changed the snapshot:\n got %+v\nwant %+v", back, s)
	}
}

func TestSettingsJSONOmitsEmpty(t *testing.T) {
	s := Settings{OS: "x", Sysctls: map[string]string{}, Registry: map[string]uint64{}, Rlimits: map[string]Rlimit{}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"sysctls"`, `"registry"`, `"rlimits"`, `"errors"`, `"mem_total_bytes"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("%s present in %s, want omitted when empty", key, b)
		}
	}
	for _, key := range []string{`"os"`, `"arch"`, `"kernel"`, `"hostname"`, `"num_cpu"`, `"go_version"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s missing from %s", key, b)
		}
	}
}

func TestSettingsNameListsAreUnique(t *testing.T) {
	lists := map[string][]string{
		"LinuxSysctls":       LinuxSysctls,
		"BSDSysctls":         BSDSysctls,
		"WindowsTcpipValues": WindowsTcpipValues,
	}
	for listName, names := range lists {
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Errorf("%s lists %q twice", listName, n)
			}
			seen[n] = true
			if listName != "WindowsTcpipValues" {
				if _, err := SysctlPath("/proc/sys", n); err != nil {
					t.Errorf("%s: %v", listName, err)
				}
			}
		}
	}
}
