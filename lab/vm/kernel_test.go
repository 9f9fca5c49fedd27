package vm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestCompareDebianVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"6.1.172-1", "6.1.172-1", 0},
		{"6.1.172-1", "6.1.170-3", 1},
		{"6.12.117-1~deb12u1", "6.1.172-1", 1}, // 12 > 1 as numbers
		{"6.1.9-1", "6.1.10-1", -1},
		{"1.0~rc1", "1.0", -1}, // ~ sorts before the end
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0", "1.0+b1", -1},
		{"1.0a", "1.0+", -1}, // letters before other characters
		{"1:0.1", "2.0", 1},  // the epoch first
		{"0:2.0", "2.0", 0},
		{"1.0", "1.0-0", 0},
		{"1.00", "1.0", 0},
		{"6.1.172-1", "6.1.172-1+b2", -1},
		{"99999999999999999999.1", "99999999999999999998.9", 1}, // digits of any length
	}
	for _, tt := range tests {
		if got := CompareDebianVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareDebianVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := CompareDebianVersions(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareDebianVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// fakeBzImage writes a file with an x86 boot protocol setup header whose
// version string is banner.
func fakeBzImage(tb testing.TB, path, banner string) {
	tb.Helper()
	b := make([]byte, 0x400)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x206:], 0x020f)
	binary.LittleEndian.PutUint16(b[0x20e:], 0x100) // the string at 0x300
	copy(b[0x300:], banner)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestReadKernelBanner(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "vmlinuz")
	const banner = "6.1.0-48-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.172-1 (2026-05-15)"
	fakeBzImage(t, p, banner)
	got, err := ReadKernelBanner(p)
	if err != nil || got != banner {
		t.Fatalf("ReadKernelBanner = %q, %v; want %q", got, err, banner)
	}
	if rel := releaseOf(got); rel != "6.1.0-48-cloud-amd64" {
		t.Errorf("release = %q", rel)
	}
	notBz := filepath.Join(dir, "elf")
	os.WriteFile(notBz, minimalELF(emX86_64, false), 0o644)
	if _, err := ReadKernelBanner(notBz); err == nil {
		t.Error("ReadKernelBanner of an ELF file succeeded")
	}
}

// fakeCachedKernel makes a kernel directory of a cache as Prepare leaves it.
func fakeCachedKernel(tb testing.TB, cache, pkg, ver, release, bannerRelease string) string {
	tb.Helper()
	dir := filepath.Join(cache, kernelsDir, pkg+"_"+ver)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	fakeBzImage(tb, filepath.Join(dir, vmlinuz), bannerRelease+" (x) #1 SMP")
	os.WriteFile(filepath.Join(dir, configFile), []byte("CONFIG_SERIAL_8250=y\n"), 0o644)
	meta, _ := json.Marshal(Kernel{Package: pkg, Version: ver, Release: release})
	os.WriteFile(filepath.Join(dir, metaFile), meta, 0o644)
	return dir
}

func TestFindKernel(t *testing.T) {
	cache := t.TempDir()
	if _, err := FindKernel(cache); !errors.Is(err, ErrNoKernel) {
		t.Fatalf("empty cache: %v, want ErrNoKernel", err)
	}
	fakeCachedKernel(t, cache, "linux-image-6.1.0-47-cloud-amd64", "6.1.170-3", "6.1.0-47-cloud-amd64", "6.1.0-47-cloud-amd64")
	fakeCachedKernel(t, cache, "linux-image-6.1.0-48-cloud-amd64", "6.1.172-1", "6.1.0-48-cloud-amd64", "6.1.0-48-cloud-amd64")
	// Newer, but its vmlinuz is not the release it claims.
	fakeCachedKernel(t, cache, "linux-image-6.1.0-49-cloud-amd64", "6.1.180-1", "6.1.0-49-cloud-amd64", "6.1.0-47-cloud-amd64")
	// Newest, but half-made: a temporary directory.
	tmp := fakeCachedKernel(t, cache, "x", "9.9-1", "9", "9")
	os.Rename(tmp, filepath.Join(cache, kernelsDir, ".tmp-123"))
	k, err := FindKernel(cache)
	if err != nil {
		t.Fatal(err)
	}
	if k.Version != "6.1.172-1" || k.Release != "6.1.0-48-cloud-amd64" || filepath.Base(k.Path) != vmlinuz {
		t.Errorf("FindKernel = %+v, want 6.1.172-1 / 6.1.0-48-cloud-amd64", k)
	}
}

// TestFindKernelPackage: a pinned package is found among others, newest
// version of it first; a package not in the cache is ErrNoKernel.
func TestFindKernelPackage(t *testing.T) {
	cache := t.TempDir()
	fakeCachedKernel(t, cache, "linux-image-6.1.0-48-cloud-amd64", "6.1.172-1", "6.1.0-48-cloud-amd64", "6.1.0-48-cloud-amd64")
	fakeCachedKernel(t, cache, "linux-image-6.1.0-48-cloud-amd64", "6.1.170-1", "6.1.0-48-cloud-amd64", "6.1.0-48-cloud-amd64")
	fakeCachedKernel(t, cache, "linux-image-6.12.117+deb12-cloud-amd64", "6.12.117-1~deb12u1", "6.12.117+deb12-cloud-amd64", "6.12.117+deb12-cloud-amd64")
	tests := []struct {
		pkg, wantVer string
	}{
		{"", "6.12.117-1~deb12u1"},
		{"linux-image-6.1.0-48-cloud-amd64", "6.1.172-1"},
		{"linux-image-6.12.117+deb12-cloud-amd64", "6.12.117-1~deb12u1"},
	}
	for _, tt := range tests {
		k, err := FindKernelPackage(cache, tt.pkg)
		if err != nil || k.Version != tt.wantVer || (tt.pkg != "" && k.Package != tt.pkg) {
			t.Errorf("FindKernelPackage(%q): got %s %s, %v; want version %s", tt.pkg, k.Package, k.Version, err, tt.wantVer)
		}
	}
	if _, err := FindKernelPackage(cache, "linux-image-6.1.0-47-cloud-amd64"); !errors.Is(err, ErrNoKernel) {
		t.Errorf("a package not in the cache: got %v, want ErrNoKernel", err)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("NOBUFS_VM_CACHE", "/x/y")
	if d, err := DefaultCacheDir(); err != nil || d != "/x/y" {
		t.Errorf("with NOBUFS_VM_CACHE: %q, %v", d, err)
	}
	t.Setenv("NOBUFS_VM_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/c")
	t.Setenv("HOME", "/h")
	d, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	// os.UserCacheDir honours XDG_CACHE_HOME on Linux and the BSDs only.
	if runtime.GOOS == "linux" && d != "/c/nobufs/vm" {
		t.Errorf("with XDG_CACHE_HOME=/c: %q, want /c/nobufs/vm", d)
	}
}

func TestParseKernelConfig(t *testing.T) {
	cfg := "# comment\nCONFIG_SERIAL_8250=y\nCONFIG_VIRTIO_CONSOLE=m\n# CONFIG_DEVPORT is not set\nCONFIG_SERIAL_8250_RUNTIME_UARTS=4\nCONFIG_OTHER=y\n"
	got := parseKernelConfig([]byte(cfg))
	want := map[string]string{"SERIAL_8250": "y", "VIRTIO_CONSOLE": "m", "DEVPORT": "", "SERIAL_8250_RUNTIME_UARTS": "4"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("option %s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["OTHER"]; ok {
		t.Error("an option not in KernelOptions was kept")
	}
	if len(got) != len(KernelOptions) {
		t.Errorf("%d options, want %d (every one of KernelOptions)", len(got), len(KernelOptions))
	}
	k := Kernel{Options: got}
	if !k.BuiltIn("SERIAL_8250") || k.BuiltIn("VIRTIO_CONSOLE") || k.BuiltIn("DEVPORT") {
		t.Error("BuiltIn: want SERIAL_8250 only")
	}
}
