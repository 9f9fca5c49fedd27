package vm

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// File is one member of an initramfs image.
type File struct {
	// Path is the absolute path in the image ("/init", "/etc/nobufs/s.yaml").
	Path string
	// Mode holds the permissions and the type: 0 type bits is a regular file,
	// fs.ModeDir a directory, fs.ModeSymlink a symlink (Data is its target),
	// fs.ModeDevice|fs.ModeCharDevice a character device (Major, Minor).
	// Permissions 0 mean 0644 (0755 for /init and directories).
	Mode fs.FileMode
	// Data is the content of a regular file; when nil, the file is read from
	// HostPath.
	Data     []byte
	HostPath string
	// Major and Minor number a device node.
	Major, Minor uint32
}

// ErrInitNotStatic is returned by BuildInitramfs when /init is missing, not
// an ELF executable, or needs a dynamic loader the image does not have.
var ErrInitNotStatic = errors.New("initramfs: /init must be a static ELF executable")

// skeleton is always in the image: the mount points the guest package uses
// and the console the kernel opens for /init's stdin/stdout/stderr.
var skeleton = []File{
	{Path: "/dev", Mode: fs.ModeDir},
	{Path: "/dev/console", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, Major: 5, Minor: 1},
	{Path: "/proc", Mode: fs.ModeDir},
	{Path: "/sys", Mode: fs.ModeDir},
	{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	{Path: "/run", Mode: fs.ModeDir},
}

// BuildInitramfs writes a gzip-compressed newc cpio image holding files, the
// directories above them, and a small skeleton (/dev/console, /dev, /proc,
// /sys, /tmp, /run). /init must be among files and be a static ELF
// executable. The output depends only on the inputs (members sorted, times
// zero), so equal inputs give equal images.
func BuildInitramfs(w io.Writer, files []File) error {
	b, err := NewBase(files)
	if err != nil {
		return err
	}
	_, err = w.Write(b.gz)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}

// Base is the shared part of a run of images, compressed once: the
// skeleton, /init and the other files given to NewBase. WriteImage writes
// it followed by a second, small archive with one run's own files; the
// kernel unpacks concatenated archives in turn (buffer-format.rst), so a
// sweep compresses its multi-megabyte /init once instead of once per run
// (1.4 s a run on this machine, 3 s under load; 22-49 s in a
// race-detector build).
type Base struct {
	gz   []byte                 // the compressed archive, trailer included
	have map[string]fs.FileMode // its members' paths and modes
	ino  uint32                 // its last inode number
}

// NewBase compresses files, with the skeleton and the directories above
// them, as BuildInitramfs does. /init must be among them and be a static
// ELF executable.
func NewBase(files []File) (*Base, error) {
	all, err := members(files, nil)
	if err != nil {
		return nil, err
	}
	if init, ok := all["/init"]; !ok {
		return nil, fmt.Errorf("%w: no /init", ErrInitNotStatic)
	} else if err := checkStatic(init); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	ino, err := writeArchive(&buf, all, 0)
	if err != nil {
		return nil, err
	}
	b := &Base{gz: buf.Bytes(), have: map[string]fs.FileMode{}, ino: ino}
	for p, f := range all {
		b.have[p] = f.Mode
	}
	return b, nil
}

// WriteImage writes the base and, after it, an archive of files and the
// directories above them that the base lacks. A path the base holds is an
// error (the later archive would replace it unseen), /init included.
func (b *Base) WriteImage(w io.Writer, files []File) error {
	all, err := members(files, b.have)
	if err != nil {
		return err
	}
	if _, err := w.Write(b.gz); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if len(all) == 0 {
		return nil
	}
	_, err = writeArchive(w, all, b.ino)
	return err
}

// members checks files and adds the directories above them; with have nil
// the skeleton is added too, else a path in have is an error and the
// directories in have are not added again.
func members(files []File, have map[string]fs.FileMode) (map[string]File, error) {
	all := map[string]File{}
	if have == nil {
		for _, f := range skeleton {
			all[f.Path] = f
		}
	}
	var errs []error
	seen := map[string]bool{}
	for _, f := range files {
		p := f.Path
		switch {
		case !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/":
			errs = append(errs, fmt.Errorf("initramfs: path %q: want an absolute, clean path", p))
			continue
		case seen[p]:
			errs = append(errs, fmt.Errorf("initramfs: path %q given twice", p))
			continue
		case inBase(have, p):
			errs = append(errs, fmt.Errorf("initramfs: path %q is in the base image already", p))
			continue
		}
		seen[p] = true
		all[p] = f
	}
	// Parent directories.
	for p := range all {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if m, ok := have[d]; ok {
				if m&fs.ModeDir == 0 {
					errs = append(errs, fmt.Errorf("initramfs: %q is inside %q, which is not a directory in the base image", p, d))
				}
				break
			}
			if f, ok := all[d]; ok {
				if f.Mode&fs.ModeDir == 0 {
					errs = append(errs, fmt.Errorf("initramfs: %q is inside %q, which is not a directory", p, d))
				}
				continue
			}
			all[d] = File{Path: d, Mode: fs.ModeDir}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return all, nil
}

func inBase(have map[string]fs.FileMode, p string) bool {
	_, ok := have[p]
	return ok
}

// writeArchive writes all as one gzip'd newc archive, sorted (a directory
// comes before what it holds), inode numbers from ino+1; it returns the
// last one.
func writeArchive(w io.Writer, all map[string]File, ino uint32) (uint32, error) {
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return 0, fmt.Errorf("initramfs: %w", err)
	}
	cw := &cpioWriter{w: zw}
	for _, p := range paths {
		ino++
		if err := writeMember(cw, all[p], ino); err != nil {
			return 0, err
		}
	}
	if err := cw.trailer(); err != nil {
		return 0, fmt.Errorf("initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("initramfs: %w", err)
	}
	return ino, nil
}

func writeMember(cw *cpioWriter, f File, ino uint32) error {
	perm := uint32(f.Mode.Perm())
	if f.Mode&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	e := cpioEntry{Name: strings.TrimPrefix(f.Path, "/"), Ino: ino, Nlink: 1}
	var data io.Reader
	switch {
	case f.Mode&fs.ModeDir != 0:
		if perm == 0 {
			perm = 0o755
		}
		e.Mode, e.Nlink = ModeDir|perm, 2
	case f.Mode&fs.ModeSymlink != 0:
		if perm == 0 {
			perm = 0o777
		}
		e.Mode, e.Size, data = ModeSymlink|perm, int64(len(f.Data)), bytes.NewReader(f.Data)
	case f.Mode&fs.ModeCharDevice != 0:
		if perm == 0 {
			perm = 0o600
		}
		e.Mode, e.RDevMajor, e.RDevMinor = ModeCharDev|perm, f.Major, f.Minor
	case f.Mode&fs.ModeType == 0:
		if perm == 0 {
			perm = 0o644
			if f.Path == "/init" {
				perm = 0o755
			}
		}
		e.Mode = ModeRegular | perm
		if f.Data != nil || f.HostPath == "" {
			e.Size, data = int64(len(f.Data)), bytes.NewReader(f.Data)
			break
		}
		h, err := os.Open(f.HostPath)
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", f.Path, err)
		}
		defer h.Close()
		st, err := h.Stat()
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", f.Path, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("initramfs: %s: host file %s is not a regular file", f.Path, f.HostPath)
		}
		e.Size, data = st.Size(), h
	default:
		return fmt.Errorf("initramfs: %s: unsupported file type %v", f.Path, f.Mode.Type())
	}
	cw.entry(e, data)
	if cw.err != nil {
		return fmt.Errorf("initramfs: %w", cw.err)
	}
	return nil
}

// checkStatic tells whether the /init member is an ELF executable without a
// program interpreter.
func checkStatic(f File) error {
	if f.Mode&fs.ModeType != 0 {
		return fmt.Errorf("%w: it is a %v", ErrInitNotStatic, f.Mode.Type())
	}
	var r io.ReaderAt
	if f.Data != nil || f.HostPath == "" {
		r = bytes.NewReader(f.Data)
	} else {
		h, err := os.Open(f.HostPath)
		if err != nil {
			return fmt.Errorf("initramfs: /init: %w", err)
		}
		defer h.Close()
		r = h
	}
	ef, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInitNotStatic, err)
	}
	defer ef.Close()
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		return fmt.Errorf("%w: ELF type %v", ErrInitNotStatic, ef.Type)
	}
	if ef.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%w: built for %v, the guest is x86-64 (GOARCH=amd64)", ErrInitNotStatic, ef.Machine)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: it needs a dynamic loader (build it with CGO_ENABLED=0)", ErrInitNotStatic)
		}
	}
	return nil
}

// CheckStatic tells whether the file at path can be an image's /init: a
// static x86-64 ELF executable (ErrInitNotStatic otherwise).
func CheckStatic(path string) error {
	return checkStatic(File{Path: "/init", HostPath: path})
}
