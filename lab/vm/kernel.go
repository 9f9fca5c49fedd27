package vm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kernel is a guest kernel kept in the cache: a Debian cloud kernel's vmlinuz
// taken out of its package, never installed.
type Kernel struct {
	Path    string `json:"-"`       // the vmlinuz (bzImage) to pass to qemu -kernel
	Config  string `json:"-"`       // the kernel's build configuration (boot/config-*)
	Package string `json:"package"` // e.g. linux-image-6.1.0-48-cloud-amd64
	Version string `json:"version"` // the package version, e.g. 6.1.172-1
	Release string `json:"release"` // the kernel release (uname -r), e.g. 6.1.0-48-cloud-amd64
	Banner  string `json:"banner"`  // the version string in the bzImage header
	// Options holds the CONFIG_ options the VM placement depends on (see
	// KernelOptions), each "y" (built in), "m" (a module, so unusable: the
	// image has no modules), a value, or "" (not set).
	Options map[string]string `json:"options"`
}

// KernelOptions are the configuration options recorded in Kernel.Options.
var KernelOptions = []string{
	"SERIAL_8250", "SERIAL_8250_CONSOLE", "SERIAL_8250_RUNTIME_UARTS",
	"VIRTIO", "VIRTIO_PCI", "VIRTIO_MMIO", "VIRTIO_CONSOLE", "HVC_DRIVER",
	"DEVTMPFS", "BLK_DEV_INITRD", "RD_GZIP", "PRINTK", "MAGIC_SYSRQ",
	"PVPANIC", "DEVPORT", "ACPI", "PVH", "INET", "IPV6",
}

// BuiltIn tells whether the configuration option (without "CONFIG_") is
// built into the kernel.
func (k Kernel) BuiltIn(option string) bool { return k.Options[option] == "y" }

// Errors of the kernel cache.
var (
	// ErrNoKernel: the cache holds no usable kernel (FindKernel), or apt
	// offers no cloud kernel package (Prepare).
	ErrNoKernel = errors.New("vm: no guest kernel")
	// ErrNoApt: Prepare needs apt-get, apt-cache and dpkg-deb (Debian).
	ErrNoApt = errors.New("vm: apt-get, apt-cache or dpkg-deb not found")
)

const (
	kernelsDir = "kernels"
	metaFile   = "kernel.json"
	vmlinuz    = "vmlinuz"
	configFile = "config"
)

// DefaultCacheDir is where the kernel cache lives: $NOBUFS_VM_CACHE, else
// $XDG_CACHE_HOME/nobufs/vm, else ~/.cache/nobufs/vm (on other systems, the
// user cache directory os.UserCacheDir gives).
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("NOBUFS_VM_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vm cache dir: %w", err)
	}
	return filepath.Join(d, "nobufs", "vm"), nil
}

// FindKernel returns the newest kernel (by package version) already in the
// cache, checking that its files are there and that the vmlinuz is the
// release its metadata says. It downloads nothing. With an empty cacheDir it
// uses DefaultCacheDir.
func FindKernel(cacheDir string) (Kernel, error) { return FindKernelPackage(cacheDir, "") }

// FindKernelPackage is FindKernel limited to one Debian package
// (linux-image-6.1.0-48-cloud-amd64): the newest cached version of it. An
// empty pkg takes any package.
func FindKernelPackage(cacheDir, pkg string) (Kernel, error) {
	if cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return Kernel{}, err
		}
		cacheDir = d
	}
	what := "kernel"
	hint := "run make vm-kernel"
	if pkg != "" {
		what, hint = pkg, "run nobufs lab vm prepare --package "+pkg
	}
	entries, err := os.ReadDir(filepath.Join(cacheDir, kernelsDir))
	if errors.Is(err, os.ErrNotExist) {
		return Kernel{}, fmt.Errorf("%w: no %s in %s (%s)", ErrNoKernel, what, cacheDir, hint)
	}
	if err != nil {
		return Kernel{}, fmt.Errorf("vm cache: %w", err)
	}
	var found []Kernel
	var problems []error
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		k, err := loadKernel(filepath.Join(cacheDir, kernelsDir, e.Name()))
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if pkg == "" || k.Package == pkg {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return Kernel{}, errors.Join(append([]error{fmt.Errorf("%w: no %s in %s (%s)", ErrNoKernel, what, cacheDir, hint)}, problems...)...)
	}
	sort.Slice(found, func(i, j int) bool {
		if c := CompareDebianVersions(found[i].Version, found[j].Version); c != 0 {
			return c > 0
		}
		return found[i].Package > found[j].Package
	})
	return found[0], nil
}

// loadKernel reads and checks one kernel directory of the cache.
func loadKernel(dir string) (Kernel, error) {
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return Kernel{}, fmt.Errorf("vm cache %s: %w", dir, err)
	}
	var k Kernel
	if err := json.Unmarshal(b, &k); err != nil {
		return Kernel{}, fmt.Errorf("vm cache %s: %w", dir, err)
	}
	k.Path = filepath.Join(dir, vmlinuz)
	k.Config = filepath.Join(dir, configFile)
	banner, err := ReadKernelBanner(k.Path)
	if err != nil {
		return Kernel{}, fmt.Errorf("vm cache %s: %w", dir, err)
	}
	if rel := releaseOf(banner); rel != k.Release {
		return Kernel{}, fmt.Errorf("vm cache %s: vmlinuz is release %q, metadata says %q", dir, rel, k.Release)
	}
	if _, err := os.Stat(k.Config); err != nil {
		return Kernel{}, fmt.Errorf("vm cache %s: %w", dir, err)
	}
	return k, nil
}

// ReadKernelBanner returns the version string of an x86 bzImage, as the boot
// protocol's setup header points to it ("6.1.0-48-cloud-amd64 (debian-kernel@…)
// #1 SMP … Debian 6.1.172-1 (…)"); its first word is the release.
func ReadKernelBanner(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("kernel image: %w", err)
	}
	defer f.Close()
	var hdr [0x210]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return "", fmt.Errorf("kernel image %s: %w", path, err)
	}
	// Boot protocol: "HdrS" at 0x202, version at 0x206, kernel_version
	// (an offset from 0x200) at 0x20e.
	if string(hdr[0x202:0x206]) != "HdrS" || binary.LittleEndian.Uint16(hdr[0x206:]) < 0x200 {
		return "", fmt.Errorf("kernel image %s: not an x86 bzImage", path)
	}
	off := int64(binary.LittleEndian.Uint16(hdr[0x20e:])) + 0x200
	var s [256]byte
	n, err := f.ReadAt(s[:], off)
	if n == 0 && err != nil {
		return "", fmt.Errorf("kernel image %s: version string: %w", path, err)
	}
	end := bytes.IndexByte(s[:n], 0)
	if end <= 0 {
		return "", fmt.Errorf("kernel image %s: no version string", path)
	}
	return string(s[:end]), nil
}

func releaseOf(banner string) string {
	rel, _, _ := strings.Cut(banner, " ")
	return rel
}

// parseKernelConfig picks KernelOptions out of a kernel .config.
func parseKernelConfig(b []byte) map[string]string {
	want := map[string]bool{}
	opts := map[string]string{}
	for _, o := range KernelOptions {
		want[o] = true
		opts[o] = ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || !strings.HasPrefix(name, "CONFIG_") {
			continue
		}
		if o := strings.TrimPrefix(name, "CONFIG_"); want[o] {
			opts[o] = strings.Trim(val, `"`)
		}
	}
	return opts
}

// CompareDebianVersions orders two Debian package versions as dpkg does
// ([epoch:]upstream[-revision], "~" before anything, letters before other
// characters, digit runs by value): -1, 0 or 1.
func CompareDebianVersions(a, b string) int {
	ea, ua, ra := splitDebianVersion(a)
	eb, ub, rb := splitDebianVersion(b)
	if c := compareDigits(ea, eb); c != 0 {
		return c
	}
	if c := compareDebianPart(ua, ub); c != 0 {
		return c
	}
	return compareDebianPart(ra, rb)
}

func splitDebianVersion(v string) (epoch, upstream, revision string) {
	epoch = "0"
	if e, rest, ok := strings.Cut(v, ":"); ok {
		epoch, v = e, rest
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func debianOrder(c byte) int {
	switch {
	case c == '~':
		return -1
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return int(c)
	default:
		return int(c) + 256
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func compareDebianPart(a, b string) int {
	for a != "" || b != "" {
		// Non-digit prefix, compared character by character; the end of a
		// string sorts after "~" and before anything else.
		for (a != "" && !isDigit(a[0])) || (b != "" && !isDigit(b[0])) {
			ca, cb := 0, 0
			if a != "" && !isDigit(a[0]) {
				ca = debianOrder(a[0])
			}
			if b != "" && !isDigit(b[0]) {
				cb = debianOrder(b[0])
			}
			if ca != cb {
				if ca < cb {
					return -1
				}
				return 1
			}
			if a != "" && !isDigit(a[0]) {
				a = a[1:]
			}
			if b != "" && !isDigit(b[0]) {
				b = b[1:]
			}
		}
		// Digit run, by value.
		i, j := 0, 0
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if c := compareDigits(a[:i], b[:j]); c != 0 {
			return c
		}
		a, b = a[i:], b[j:]
	}
	return 0
}

// compareDigits compares two runs of decimal digits by value, of any length.
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
