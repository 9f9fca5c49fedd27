package vm

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cloudKernel matches the versioned Debian cloud kernel packages, not the
// meta package nor -unsigned/-dbg.
var cloudKernel = regexp.MustCompile(`^linux-image-[0-9][0-9A-Za-z.+~-]*-cloud-amd64$`)

// debianKernel matches any kernel image package name.
var debianKernel = regexp.MustCompile(`^linux-image-[0-9][0-9A-Za-z.+~-]*$`)

// candidate returns the version apt would fetch of pkg.
func candidate(ctx context.Context, pkg string) (string, error) {
	out, err := run(ctx, "", "apt-cache", "policy", pkg)
	if err != nil {
		return "", err
	}
	v, ok := parsePolicy(out)[pkg]
	if !ok {
		return "", fmt.Errorf("%w: apt has no candidate version of %s (apt-get update?)", ErrNoKernel, pkg)
	}
	return v, nil
}

// aptLists is where apt keeps its package lists.
const aptLists = "/var/lib/apt/lists"

// Prepare makes sure the cache holds the newest Debian cloud kernel apt
// offers and returns it. It asks apt-cache which linux-image-*-cloud-amd64
// package is newest (running apt-get update first only when apt has no lists
// at all), and when the cache lacks it, downloads the package with apt-get
// download (nothing is installed) and takes the vmlinuz and the kernel config
// out of it. A second call reuses the cache; the work happens in a temporary
// directory renamed into place, under a lock, so a half-finished earlier
// attempt is never taken for a kernel. Without apt it returns the newest
// kernel already in the cache, or ErrNoApt. With an empty cacheDir it uses
// DefaultCacheDir.
func Prepare(ctx context.Context, cacheDir string) (Kernel, error) {
	return PreparePackage(ctx, cacheDir, "")
}

// PreparePackage is Prepare for one kernel package (such as
// linux-image-6.1.0-48-cloud-amd64, the kernel LAB.md §6 was measured
// with): its candidate version is fetched when the cache lacks it. An
// empty pkg is Prepare's newest cloud kernel.
func PreparePackage(ctx context.Context, cacheDir, pkg string) (Kernel, error) {
	if pkg != "" && !debianKernel.MatchString(pkg) {
		return Kernel{}, fmt.Errorf("%w: %q is not a linux-image-… package name", ErrNoKernel, pkg)
	}
	if cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return Kernel{}, err
		}
		cacheDir = d
	}
	kdir := filepath.Join(cacheDir, kernelsDir)
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return Kernel{}, fmt.Errorf("vm cache: %w", err)
	}
	unlock, err := lockDir(ctx, cacheDir)
	if err != nil {
		return Kernel{}, err
	}
	defer unlock()
	// Left over by an attempt that died: nobody else works here (we hold the
	// lock).
	if olds, _ := filepath.Glob(filepath.Join(kdir, ".tmp-*")); len(olds) > 0 {
		for _, o := range olds {
			os.RemoveAll(o)
		}
	}
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			if k, ferr := FindKernelPackage(cacheDir, pkg); ferr == nil {
				return k, nil
			}
			return Kernel{}, fmt.Errorf("%w: %w", ErrNoApt, err)
		}
	}
	var ver string
	if pkg == "" {
		pkg, ver, err = newestCloudKernel(ctx)
	} else {
		ver, err = candidate(ctx, pkg)
	}
	if err != nil {
		return Kernel{}, err
	}
	final := filepath.Join(kdir, pkg+"_"+strings.ReplaceAll(ver, ":", "%3a"))
	if k, err := loadKernel(final); err == nil && k.Package == pkg && k.Version == ver {
		return k, nil
	}
	tmp, err := os.MkdirTemp(kdir, ".tmp-")
	if err != nil {
		return Kernel{}, fmt.Errorf("vm cache: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up on error
	if err := fetchKernel(ctx, tmp, pkg, ver); err != nil {
		return Kernel{}, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Kernel{}, fmt.Errorf("vm cache: %w", err)
	}
	if err := os.RemoveAll(final); err != nil { // an unusable earlier copy
		return Kernel{}, fmt.Errorf("vm cache: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return Kernel{}, fmt.Errorf("vm cache: %w", err)
	}
	return loadKernel(final)
}

// lockDir takes an exclusive flock on dir/.lock, waiting for it as long as
// ctx allows.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vm cache lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("vm cache lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("vm cache lock: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// newestCloudKernel asks apt for the cloud kernel packages it can fetch and
// returns the one with the highest candidate version.
func newestCloudKernel(ctx context.Context) (pkg, ver string, err error) {
	names, err := cloudKernelNames(ctx)
	if err != nil {
		return "", "", err
	}
	if len(names) == 0 {
		lists, _ := filepath.Glob(filepath.Join(aptLists, "*_Packages*"))
		if len(lists) > 0 {
			return "", "", fmt.Errorf("%w: apt knows no linux-image-*-cloud-amd64 package", ErrNoKernel)
		}
		if _, err := run(ctx, "", "apt-get", "update", "-qq"); err != nil {
			return "", "", err
		}
		if names, err = cloudKernelNames(ctx); err != nil {
			return "", "", err
		}
		if len(names) == 0 {
			return "", "", fmt.Errorf("%w: apt knows no linux-image-*-cloud-amd64 package, even after apt-get update", ErrNoKernel)
		}
	}
	out, err := run(ctx, "", "apt-cache", append([]string{"policy"}, names...)...)
	if err != nil {
		return "", "", err
	}
	cands := parsePolicy(out)
	for _, n := range names {
		v, ok := cands[n]
		if !ok {
			continue
		}
		if pkg == "" || CompareDebianVersions(v, ver) > 0 || CompareDebianVersions(v, ver) == 0 && n > pkg {
			pkg, ver = n, v
		}
	}
	if pkg == "" {
		return "", "", fmt.Errorf("%w: no candidate version for %s", ErrNoKernel, strings.Join(names, ", "))
	}
	return pkg, ver, nil
}

func cloudKernelNames(ctx context.Context) ([]string, error) {
	out, err := run(ctx, "", "apt-cache", "pkgnames", "linux-image-")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if cloudKernel.MatchString(n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// parsePolicy reads the "Candidate:" of each package in apt-cache policy's
// output.
func parsePolicy(out []byte) map[string]string {
	cands := map[string]string{}
	var cur string
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && line[0] != ' ' && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(line, ":")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok && cur != "" {
			if v = strings.TrimSpace(v); v != "" && v != "(none)" {
				cands[cur] = v
			}
		}
	}
	return cands
}

// fetchKernel downloads pkg=ver into dir and leaves there vmlinuz, config and
// kernel.json (the package file itself is removed).
func fetchKernel(ctx context.Context, dir, pkg, ver string) error {
	if _, err := run(ctx, dir, "apt-get", "download", "-qq", "-o", "APT::Sandbox::User=root", pkg+"="+ver); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("%w: apt-get download %s left %d package files", ErrNoKernel, pkg, len(debs))
	}
	deb := debs[0]
	fields, err := run(ctx, "", "dpkg-deb", "--field", deb, "Package", "Version")
	if err != nil {
		return err
	}
	if got := parseFields(fields); got["Package"] != pkg || got["Version"] != ver {
		return fmt.Errorf("%w: %s holds %s %s, want %s %s", ErrNoKernel, filepath.Base(deb), got["Package"], got["Version"], pkg, ver)
	}
	if err := extractBoot(ctx, deb, dir); err != nil {
		return err
	}
	if err := os.Remove(deb); err != nil {
		return fmt.Errorf("vm cache: %w", err)
	}
	banner, err := ReadKernelBanner(filepath.Join(dir, vmlinuz))
	if err != nil {
		return err
	}
	cfg, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil {
		return fmt.Errorf("vm cache: %w", err)
	}
	k := Kernel{Package: pkg, Version: ver, Release: releaseOf(banner), Banner: banner, Options: parseKernelConfig(cfg)}
	meta, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return fmt.Errorf("vm cache: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, metaFile), append(meta, '\n'), 0o644)
}

func parseFields(out []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// extractBoot reads the package's file tree (dpkg-deb --fsys-tarfile, the
// tree dpkg-deb -x would write) and writes only ./boot/vmlinuz-* and
// ./boot/config-* out of it, as dir/vmlinuz and dir/config: the modules are
// of no use to a guest booted from an initramfs without them.
func extractBoot(ctx context.Context, deb, dir string) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("dpkg-deb: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dpkg-deb: %w", err)
	}
	got := map[string]bool{}
	tr := tar.NewReader(out)
	var terr error
	for terr == nil {
		var h *tar.Header
		h, terr = tr.Next()
		if terr != nil {
			break
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		var dst string
		switch {
		case strings.HasPrefix(name, "boot/vmlinuz-"):
			dst = vmlinuz
		case strings.HasPrefix(name, "boot/config-"):
			dst = configFile
		default:
			continue
		}
		if h.Typeflag != tar.TypeReg || got[dst] {
			terr = fmt.Errorf("%w: %s: unexpected %s", ErrNoKernel, filepath.Base(deb), name)
			break
		}
		got[dst] = true
		terr = writeFile(filepath.Join(dir, dst), io.LimitReader(tr, h.Size))
	}
	io.Copy(io.Discard, out) // let dpkg-deb finish writing
	werr := cmd.Wait()
	if terr != nil && !errors.Is(terr, io.EOF) {
		return terr
	}
	if werr != nil {
		return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w: %s", filepath.Base(deb), werr, strings.TrimSpace(stderr.String()))
	}
	if !got[vmlinuz] || !got[configFile] {
		return fmt.Errorf("%w: %s has no boot/vmlinuz-* and boot/config-*", ErrNoKernel, filepath.Base(deb))
	}
	return nil
}

func writeFile(name string, r io.Reader) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("vm cache: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("vm cache: %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("vm cache: %s: %w", name, err)
	}
	return f.Close()
}

// run runs a command and returns its standard output; its standard error
// goes into the error.
func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
