package vm

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// minimalELF is the smallest x86-64 executable debug/elf accepts: an ELF
// header and one PT_LOAD (plus a PT_INTERP when dynamic).
func minimalELF(machine elfMachine, dynamic bool) []byte {
	var b bytes.Buffer
	phnum := uint16(1)
	if dynamic {
		phnum = 2
	}
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	binary.Write(&b, le, uint16(2))       // ET_EXEC
	binary.Write(&b, le, uint16(machine)) // e_machine
	binary.Write(&b, le, uint32(1))       // e_version
	binary.Write(&b, le, uint64(0x400078))
	binary.Write(&b, le, uint64(64)) // e_phoff
	binary.Write(&b, le, uint64(0))  // e_shoff
	binary.Write(&b, le, uint32(0))  // e_flags
	binary.Write(&b, le, uint16(64)) // e_ehsize
	binary.Write(&b, le, uint16(56)) // e_phentsize
	binary.Write(&b, le, phnum)
	binary.Write(&b, le, uint16(64)) // e_shentsize
	binary.Write(&b, le, uint16(0))  // e_shnum
	binary.Write(&b, le, uint16(0))  // e_shstrndx
	ph := func(typ uint32, off, size uint64) {
		binary.Write(&b, le, typ)
		binary.Write(&b, le, uint32(5)) // R+X
		binary.Write(&b, le, off)
		binary.Write(&b, le, 0x400000+off)
		binary.Write(&b, le, 0x400000+off)
		binary.Write(&b, le, size)
		binary.Write(&b, le, size)
		binary.Write(&b, le, uint64(0x1000))
	}
	ph(1, 0, 256) // PT_LOAD
	if dynamic {
		ph(3, 200, 28) // PT_INTERP
	}
	for b.Len() < 256 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

type elfMachine uint16

const (
	emX86_64  elfMachine = 62
	emAARCH64 elfMachine = 183
)

// cpioMember is what the test's own newc reader finds.
type cpioMember struct {
	Name         string
	Ino          uint32
	Mode         uint32
	Nlink        uint32
	Size         int
	RMajor       uint32
	RMinor       uint32
	Data         []byte
	HeaderOffset int
}

// readNewc parses a whole newc archive strictly: magic, hex fields, the name's
// NUL, 4-byte alignment of every header and every data part, zero padding,
// and the TRAILER!!! entry at the end followed by nothing but zeros.
func readNewc(tb testing.TB, a []byte) []cpioMember {
	tb.Helper()
	var out []cpioMember
	off := 0
	field := func(h []byte, i int) uint32 {
		v, err := strconv.ParseUint(string(h[6+8*i:6+8*i+8]), 16, 32)
		if err != nil {
			tb.Fatalf("header at %d field %d %q: %v", off, i, h[6+8*i:6+8*i+8], err)
		}
		return uint32(v)
	}
	zeros := func(from, to int) {
		for i := from; i < to; i++ {
			if a[i] != 0 {
				tb.Fatalf("padding byte at %d is %#x, want 0", i, a[i])
			}
		}
	}
	align := func(n int) int { return (n + 3) &^ 3 }
	for {
		if off%4 != 0 {
			tb.Fatalf("header at %d is not 4-byte aligned", off)
		}
		if off+cpioHdrLen > len(a) {
			tb.Fatalf("archive ends at %d inside a header (no trailer)", len(a))
		}
		h := a[off : off+cpioHdrLen]
		if string(h[:6]) != cpioMagic {
			tb.Fatalf("magic at %d = %q, want %q", off, h[:6], cpioMagic)
		}
		m := cpioMember{Ino: field(h, 0), Mode: field(h, 1), Nlink: field(h, 4), Size: int(field(h, 6)), RMajor: field(h, 9), RMinor: field(h, 10), HeaderOffset: off}
		if check := field(h, 12); check != 0 {
			tb.Fatalf("check field at %d = %d, want 0 (newc)", off, check)
		}
		nameSize := int(field(h, 11))
		nameEnd := off + cpioHdrLen + nameSize
		if nameSize < 1 || nameEnd > len(a) || a[nameEnd-1] != 0 {
			tb.Fatalf("name at %d: size %d without its NUL", off, nameSize)
		}
		m.Name = string(a[off+cpioHdrLen : nameEnd-1])
		dataStart := align(nameEnd)
		zeros(nameEnd, dataStart)
		if dataStart+m.Size > len(a) {
			tb.Fatalf("%s: data runs past the archive", m.Name)
		}
		m.Data = a[dataStart : dataStart+m.Size]
		next := align(dataStart + m.Size)
		if next > len(a) {
			next = len(a)
		}
		zeros(dataStart+m.Size, next)
		off = next
		if m.Name == cpioTrailer {
			zeros(off, len(a))
			return out
		}
		out = append(out, m)
	}
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func testFiles(tb testing.TB) []File {
	tb.Helper()
	host := filepath.Join(tb.TempDir(), "host.txt")
	if err := os.WriteFile(host, []byte("from the host\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return []File{
		{Path: "/init", Data: minimalELF(emX86_64, false)},
		{Path: "/etc/nobufs/scenario.yaml", Data: []byte("name: x\n")},
		{Path: "/etc/host.txt", HostPath: host, Mode: 0o640},
		{Path: "/bin/sh", Mode: fs.ModeSymlink, Data: []byte("/init")},
		{Path: "/dev/ttyS1", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o620, Major: 4, Minor: 65},
		{Path: "/empty", Data: []byte{}},
		{Path: "/odd", Data: []byte("12345")}, // data that needs padding
	}
}

func TestBuildInitramfs(t *testing.T) {
	var img bytes.Buffer
	if err := BuildInitramfs(&img, testFiles(t)); err != nil {
		t.Fatal(err)
	}
	members := readNewc(t, gunzip(t, img.Bytes()))
	got := map[string]cpioMember{}
	var order []string
	for _, m := range members {
		if _, dup := got[m.Name]; dup {
			t.Errorf("%s twice in the archive", m.Name)
		}
		got[m.Name] = m
		order = append(order, m.Name)
	}
	tests := []struct {
		name   string
		mode   uint32
		data   string
		rdev   [2]uint32
		exists bool
	}{
		{"init", ModeRegular | 0o755, string(minimalELF(emX86_64, false)), [2]uint32{}, true},
		{"etc", ModeDir | 0o755, "", [2]uint32{}, true}, // made as needed
		{"etc/nobufs", ModeDir | 0o755, "", [2]uint32{}, true},
		{"etc/nobufs/scenario.yaml", ModeRegular | 0o644, "name: x\n", [2]uint32{}, true},
		{"etc/host.txt", ModeRegular | 0o640, "from the host\n", [2]uint32{}, true},
		{"bin/sh", ModeSymlink | 0o777, "/init", [2]uint32{}, true},
		{"dev/ttyS1", ModeCharDev | 0o620, "", [2]uint32{4, 65}, true},
		{"dev/console", ModeCharDev | 0o600, "", [2]uint32{5, 1}, true}, // skeleton
		{"tmp", ModeDir | 0o1777, "", [2]uint32{}, true},
		{"proc", ModeDir | 0o755, "", [2]uint32{}, true},
		{"empty", ModeRegular | 0o644, "", [2]uint32{}, true},
		{"odd", ModeRegular | 0o644, "12345", [2]uint32{}, true},
	}
	for _, tt := range tests {
		m, ok := got[tt.name]
		if !ok {
			t.Errorf("%s: missing; archive has %v", tt.name, order)
			continue
		}
		if m.Mode != tt.mode || string(m.Data) != tt.data || m.RMajor != tt.rdev[0] || m.RMinor != tt.rdev[1] {
			t.Errorf("%s: mode %o data %q rdev %d:%d, want mode %o data %q rdev %d:%d",
				tt.name, m.Mode, m.Data, m.RMajor, m.RMinor, tt.mode, tt.data, tt.rdev[0], tt.rdev[1])
		}
	}
	// A directory comes before what it holds.
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	for _, n := range order {
		if d := filepath.Dir(n); d != "." && pos[d] > pos[n] {
			t.Errorf("%s comes before its directory %s", n, d)
		}
	}
	// The same inputs give the same image.
	var again bytes.Buffer
	if err := BuildInitramfs(&again, testFiles(t)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img.Bytes(), again.Bytes()) {
		t.Error("two builds of the same files differ")
	}
}

// TestInitramfsCpioTool unpacks the image with cpio(1), the reference
// implementation of the format.
func TestInitramfsCpioTool(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (apt-get install cpio)")
	}
	var img bytes.Buffer
	if err := BuildInitramfs(&img, testFiles(t)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("cpio", "-idmv", "--no-absolute-filenames")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(gunzip(t, img.Bytes()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -idmv: %v\n%s", err, out)
	}
	files := []struct {
		path string
		mode fs.FileMode
		data string
	}{
		{"init", 0o755, string(minimalELF(emX86_64, false))},
		{"etc/nobufs/scenario.yaml", 0o644, "name: x\n"},
		{"etc/host.txt", 0o640, "from the host\n"},
		{"odd", 0o644, "12345"},
		{"empty", 0o644, ""},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		st, err := os.Lstat(p)
		if err != nil {
			t.Errorf("cpio did not make %s: %v", f.path, err)
			continue
		}
		b, _ := os.ReadFile(p)
		if st.Mode() != f.mode || string(b) != f.data {
			t.Errorf("%s: mode %v data %q, want %v %q", f.path, st.Mode(), b, f.mode, f.data)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "/init" {
		t.Errorf("bin/sh -> %q (%v), want /init", target, err)
	}
	if os.Geteuid() == 0 {
		st, err := os.Lstat(filepath.Join(dir, "dev/console"))
		if err != nil || st.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("dev/console: %v %v, want a character device", st, err)
		}
	}
}

func TestBuildInitramfsRejects(t *testing.T) {
	elf := minimalELF(emX86_64, false)
	tests := []struct {
		name   string
		files  []File
		static bool // the error is ErrInitNotStatic
	}{
		{"no init", []File{{Path: "/etc/x", Data: []byte("x")}}, true},
		{"dynamic init", []File{{Path: "/init", Data: minimalELF(emX86_64, true)}}, true},
		{"arm64 init", []File{{Path: "/init", Data: minimalELF(emAARCH64, false)}}, true},
		{"script init", []File{{Path: "/init", Data: []byte("#!/bin/sh\n")}}, true},
		{"init a directory", []File{{Path: "/init", Mode: fs.ModeDir}}, true},
		{"relative path", []File{{Path: "/init", Data: elf}, {Path: "etc/x"}}, false},
		{"unclean path", []File{{Path: "/init", Data: elf}, {Path: "/etc/../x"}}, false},
		{"twice", []File{{Path: "/init", Data: elf}, {Path: "/x"}, {Path: "/x"}}, false},
		{"under a file", []File{{Path: "/init", Data: elf}, {Path: "/init/x"}}, false},
		{"missing host file", []File{{Path: "/init", Data: elf}, {Path: "/x", HostPath: "/nonexistent/file"}}, false},
		{"fifo", []File{{Path: "/init", Data: elf}, {Path: "/x", Mode: fs.ModeNamedPipe}}, false},
	}
	for _, tt := range tests {
		err := BuildInitramfs(io.Discard, tt.files)
		if err == nil {
			t.Errorf("%s: BuildInitramfs succeeded, want an error", tt.name)
			continue
		}
		if got := errors.Is(err, ErrInitNotStatic); got != tt.static {
			t.Errorf("%s: error %v: errors.Is(ErrInitNotStatic) = %v, want %v", tt.name, err, got, tt.static)
		}
	}
}

// TestInitramfsWriteError: a failing writer is reported.
func TestInitramfsWriteError(t *testing.T) {
	err := BuildInitramfs(failWriter{}, testFiles(t))
	if err == nil {
		t.Fatal("BuildInitramfs into a failing writer succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

// TestBaseWriteImage: an image from a base is the base's archive, byte for
// byte, then a second archive with the run's own files and the
// directories above them that the base lacks; inode numbers go on from
// the base's.
func TestBaseWriteImage(t *testing.T) {
	b, err := NewBase([]File{{Path: "/init", Data: minimalELF(emX86_64, false)}, {Path: "/etc/motd", Data: []byte("hi\n")}})
	if err != nil {
		t.Fatal(err)
	}
	var alone bytes.Buffer
	if err := BuildInitramfs(&alone, []File{{Path: "/init", Data: minimalELF(emX86_64, false)}, {Path: "/etc/motd", Data: []byte("hi\n")}}); err != nil {
		t.Fatal(err)
	}
	var img bytes.Buffer
	if err := b.WriteImage(&img, []File{{Path: "/etc/nobufs/scenario.yaml", Data: []byte("name: x\n")}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(img.Bytes(), alone.Bytes()) {
		t.Fatal("the image does not start with the base archive")
	}
	zr, err := gzip.NewReader(bytes.NewReader(img.Bytes()[alone.Len():]))
	if err != nil {
		t.Fatalf("no second archive after the base: %v", err)
	}
	second, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	inos := map[uint32]bool{}
	base := readNewc(t, gunzip(t, alone.Bytes()))
	for _, m := range base {
		inos[m.Ino] = true
	}
	for _, m := range readNewc(t, second) {
		names = append(names, m.Name)
		if inos[m.Ino] {
			t.Errorf("%s: inode %d is the base's too", m.Name, m.Ino)
		}
	}
	if got, want := strings.Join(names, " "), "etc/nobufs etc/nobufs/scenario.yaml"; got != want {
		t.Errorf("second archive holds %q, want %q (etc is the base's)", got, want)
	}
	for _, files := range [][]File{
		{{Path: "/init", Data: minimalELF(emX86_64, false)}},
		{{Path: "/etc/motd", Data: []byte("again\n")}},
		{{Path: "/etc", Mode: fs.ModeDir}},
		{{Path: "/init/x", Data: []byte("x")}}, // /init is a file
	} {
		if err := b.WriteImage(io.Discard, files); err == nil {
			t.Errorf("WriteImage(%s) = nil, want an error: the base holds it", files[0].Path)
		}
	}
	if _, err := NewBase([]File{{Path: "/etc/motd", Data: []byte("hi\n")}}); !errors.Is(err, ErrInitNotStatic) {
		t.Errorf("NewBase without /init = %v, want ErrInitNotStatic", err)
	}
}
