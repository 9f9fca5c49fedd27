//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package hostfacts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// readPlatform fills in the macOS/BSD-specific fields.
func (s *Settings) readPlatform() {
	if rel, err := unix.Sysctl("kern.osrelease"); err != nil {
		s.addError("sysctl kern.osrelease", err)
	} else {
		s.Kernel = rel
	}

	s.readBSDMemTotal()

	for _, name := range BSDSysctls {
		b, err := unix.SysctlRaw(name)
		switch {
		case err == nil:
			s.setSysctl(name, bsdSysctlString(b))
		case bsdSysctlAbsent(err):
			// This system spells it differently or lacks it.
		default:
			s.addError("sysctl "+name, err)
		}
	}

	for _, l := range bsdRlimits() {
		var r unix.Rlimit
		if err := unix.Getrlimit(l.resource, &r); err != nil {
			s.addError("rlimit "+l.name, err)
			continue
		}
		s.setRlimit(l.name, Rlimit{Soft: bsdRlimValue(r.Cur), Hard: bsdRlimValue(r.Max)})
	}
}

// readBSDMemTotal sets MemTotalBytes from the physical-memory sysctl of
// this system (a 64-bit value everywhere it is read here, but decoded by
// size in case a 32-bit kernel reports an unsigned long).
func (s *Settings) readBSDMemTotal() {
	var name string
	switch runtime.GOOS {
	case "darwin", "ios":
		name = "hw.memsize"
	case "netbsd":
		name = "hw.physmem64"
	default: // freebsd, dragonfly: u_long; openbsd: "hw.physmem" is HW_PHYSMEM64
		name = "hw.physmem"
	}
	b, err := unix.SysctlRaw(name)
	if err != nil {
		s.addError("sysctl "+name, err)
		return
	}
	switch len(b) {
	case 4:
		s.MemTotalBytes = uint64(binary.NativeEndian.Uint32(b))
	case 8:
		s.MemTotalBytes = binary.NativeEndian.Uint64(b)
	default:
		s.addError("sysctl "+name, fmt.Errorf("unexpected %d-byte value", len(b)))
	}
}

// bsdSysctlString renders a raw sysctl value: 4 bytes as a C int, 8 bytes
// as an unsigned 64-bit integer (u_long/uint64 knobs such as
// kern.ipc.maxsockbuf), anything else as a NUL-terminated string.
func bsdSysctlString(b []byte) string {
	switch len(b) {
	case 4:
		return strconv.FormatInt(int64(int32(binary.NativeEndian.Uint32(b))), 10)
	case 8:
		return strconv.FormatUint(binary.NativeEndian.Uint64(b), 10)
	}
	if n := len(b); n > 0 && b[n-1] == 0 {
		b = b[:n-1]
	}
	return string(b)
}

// bsdSysctlAbsent reports whether err means the name does not exist:
// ENOENT from the kernel (darwin, freebsd, dragonfly), or EINVAL from the
// name-to-MIB lookup (openbsd's static table, netbsd's walk).
func bsdSysctlAbsent(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL)
}

type bsdRlimit struct {
	name     string
	resource int
}

// bsdRlimits lists the limits read. RLIMIT_AS is not a portable constant
// here: OpenBSD has none (x/sys/unix does not define it there), so its
// number is spelled out per system (darwin 5; freebsd, netbsd and
// dragonfly 10, as in their <sys/resource.h> and x/sys/unix).
func bsdRlimits() []bsdRlimit {
	l := []bsdRlimit{
		{"nofile", unix.RLIMIT_NOFILE},
		{"nproc", unix.RLIMIT_NPROC},
	}
	switch runtime.GOOS {
	case "darwin", "ios":
		l = append(l, bsdRlimit{"as", 5})
	case "freebsd", "netbsd", "dragonfly":
		l = append(l, bsdRlimit{"as", 10})
	}
	return l
}

// bsdRlimValue converts one rlimit field (int64 on some systems, uint64
// on others) to uint64, mapping RLIM_INFINITY (1<<63-1 on these systems)
// to math.MaxUint64.
func bsdRlimValue[T int64 | uint64](v T) uint64 {
	if uint64(v) == uint64(unix.RLIM_INFINITY) || v < 0 {
		return math.MaxUint64
	}
	return uint64(v)
}
