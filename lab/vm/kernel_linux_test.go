package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestCloudKernelNames(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"linux-image-6.1.0-48-cloud-amd64", true},
		{"linux-image-6.12.117+deb12-cloud-amd64", true},
		{"linux-image-cloud-amd64", false}, // the meta package
		{"linux-image-6.1.0-48-cloud-amd64-unsigned", false},
		{"linux-image-6.1.0-48-cloud-amd64-dbg", false},
		{"linux-image-6.1.0-48-amd64", false},
	}
	for _, tt := range tests {
		if got := cloudKernel.MatchString(tt.name); got != tt.want {
			t.Errorf("%s: match %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	out := `linux-image-6.1.0-48-cloud-amd64:
  Installed: (none)
  Candidate: 6.1.172-1
  Version table:
     6.1.172-1 500
        500 http://deb.example/debian-security bookworm-security/main amd64 Packages
linux-image-6.1.0-42-cloud-amd64:
  Installed: (none)
  Candidate: (none)
  Version table:
`
	got := parsePolicy([]byte(out))
	if len(got) != 1 || got["linux-image-6.1.0-48-cloud-amd64"] != "6.1.172-1" {
		t.Errorf("parsePolicy = %v, want only 6.1.0-48 at 6.1.172-1", got)
	}
}

// TestPrepareReusesCache runs Prepare on the default cache (what make
// vm-kernel fills, and what the boot tests use): a leftover of a dead attempt
// is cleaned, and a second call gives the same files without fetching.
func TestPrepareReusesCache(t *testing.T) {
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: Prepare needs Debian's apt", tool)
		}
	}
	cache, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	first, err := Prepare(ctx, cache)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(cache, kernelsDir, ".tmp-dead-attempt")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, vmlinuz), []byte("half"), 0o644)
	before := inode(t, first.Path)
	second, err := Prepare(ctx, cache)
	if err != nil {
		t.Fatal(err)
	}
	if second.Path != first.Path || second.Version != first.Version || inode(t, second.Path) != before {
		t.Errorf("second Prepare = %s %s (inode %d), want the cached %s %s (inode %d)",
			second.Path, second.Version, inode(t, second.Path), first.Path, first.Version, before)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("leftover %s still there (%v)", stale, err)
	}
	found, err := FindKernel(cache)
	if err != nil || found.Path != first.Path {
		t.Errorf("FindKernel = %s, %v; want %s", found.Path, err, first.Path)
	}
	if !first.BuiltIn("SERIAL_8250") || !first.BuiltIn("DEVTMPFS") || !first.BuiltIn("RD_GZIP") {
		t.Errorf("kernel options %v: the guest needs SERIAL_8250, DEVTMPFS and RD_GZIP built in", first.Options)
	}
	t.Logf("kernel %s %s (%s)", first.Package, first.Version, first.Release)
}

func inode(tb testing.TB, p string) uint64 {
	tb.Helper()
	st, err := os.Stat(p)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}
