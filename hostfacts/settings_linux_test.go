package hostfacts

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSettingsLinux(t *testing.T) {
	s := ReadSettings()
	if s.OS != "linux" {
		t.Errorf("OS = %q, want linux", s.OS)
	}
	if s.Kernel == "" {
		t.Error("Kernel is empty")
	}
	if s.Hostname == "" {
		t.Error("Hostname is empty")
	}
	if s.MemTotalBytes == 0 {
		t.Error("MemTotalBytes is 0")
	}

	want, err := ReadSysctl("/proc/sys", "net.ipv4.ip_local_port_range")
	if err != nil {
		t.Skipf("cannot read the port range here: %v", err)
	}
	if got := s.Sysctls["net.ipv4.ip_local_port_range"]; got != want {
		t.Errorf("Sysctls[net.ipv4.ip_local_port_range] = %q, want %q", got, want)
	}
	if f := strings.Fields(want); len(f) != 2 {
		t.Errorf("port range %q is not two numbers", want)
	}

	nofile, ok := s.Rlimits["nofile"]
	if !ok {
		t.Fatalf("Rlimits has no nofile: %v", s.Rlimits)
	}
	if nofile.Soft == 0 || nofile.Hard < nofile.Soft {
		t.Errorf("nofile = %+v, want 0 < soft <= hard", nofile)
	}
	for _, name := range []string{"nproc", "as"} {
		if _, ok := s.Rlimits[name]; !ok {
			t.Errorf("Rlimits has no %s: %v", name, s.Rlimits)
		}
	}
	// Address space is unlimited on practically every test host; if so it
	// must show as MaxUint64.
	if as := s.Rlimits["as"]; as.Hard != math.MaxUint64 {
		t.Logf("RLIMIT_AS hard limit is %d (not unlimited)", as.Hard)
	}
	for name, v := range s.Sysctls {
		if v != strings.Join(strings.Fields(v), " ") {
			t.Errorf("Sysctls[%s] = %q is not normalised", name, v)
		}
	}
}

func TestReadLinuxSysctlsFakeRoot(t *testing.T) {
	// Only some of LinuxSysctls exist: the others must be skipped silently.
	root := fakeSysctlRoot(t, map[string]string{
		"net.ipv4.ip_local_port_range": "1024\t65000\n",
		"net.ipv4.tcp_rmem":            "4096\t131072\t6291456\n",
		"fs.nr_open":                   "1048576\n",
		"not.in.the.list":              "1\n",
	})
	var s Settings
	s.readLinuxSysctls(root)
	want := map[string]string{
		"net.ipv4.ip_local_port_range": "1024 65000",
		"net.ipv4.tcp_rmem":            "4096 131072 6291456",
		"fs.nr_open":                   "1048576",
	}
	if len(s.Sysctls) != len(want) {
		t.Errorf("Sysctls = %v, want %v", s.Sysctls, want)
	}
	for k, w := range want {
		if got := s.Sysctls[k]; got != w {
			t.Errorf("Sysctls[%s] = %q, want %q", k, got, w)
		}
	}
	if len(s.Errors) != 0 {
		t.Errorf("Errors = %q, want none (missing names are skipped)", s.Errors)
	}
}

func TestReadLinuxSysctlsErrors(t *testing.T) {
	t.Run("missing root", func(t *testing.T) {
		var s Settings
		s.readLinuxSysctls(filepath.Join(t.TempDir(), "nope"))
		if len(s.Errors) != 1 || len(s.Sysctls) != 0 {
			t.Errorf("Errors = %q, Sysctls = %v; want one error, no sysctls", s.Errors, s.Sysctls)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		// A directory where a value file should be gives a read error that
		// is not ENOENT, whoever runs the test (root ignores file modes).
		root := fakeSysctlRoot(t, map[string]string{"net.core.somaxconn": "4096\n"})
		p, _ := SysctlPath(root, "fs.nr_open")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		var s Settings
		s.readLinuxSysctls(root)
		if got := s.Sysctls["net.core.somaxconn"]; got != "4096" {
			t.Errorf("somaxconn = %q, want 4096", got)
		}
		if len(s.Errors) != 1 || !strings.Contains(s.Errors[0], "fs.nr_open") {
			t.Errorf("Errors = %q, want one line naming fs.nr_open", s.Errors)
		}
	})
}
