package hostfacts

import (
	"errors"
	"io/fs"
	"os"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// linuxSysctlRoot is where ReadSettings reads LinuxSysctls from.
const linuxSysctlRoot = "/proc/sys"

// readPlatform fills in the Linux-specific fields.
func (s *Settings) readPlatform() {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		s.addError("uname", err)
	} else {
		s.Kernel = unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Version[:])
	}

	if pfs, err := procfs.NewDefaultFS(); err != nil {
		s.addError("meminfo", err)
	} else if mi, err := pfs.Meminfo(); err != nil {
		s.addError("meminfo", err)
	} else if mi.MemTotalBytes != nil {
		s.MemTotalBytes = *mi.MemTotalBytes
	} else if mi.MemTotal != nil {
		s.MemTotalBytes = *mi.MemTotal * 1024
	} else {
		s.addError("meminfo", errors.New("no MemTotal line"))
	}

	s.readLinuxSysctls(linuxSysctlRoot)

	for _, l := range []struct {
		name     string
		resource int
	}{
		{"nofile", unix.RLIMIT_NOFILE},
		{"nproc", unix.RLIMIT_NPROC},
		{"as", unix.RLIMIT_AS},
	} {
		var r unix.Rlimit
		if err := unix.Getrlimit(l.resource, &r); err != nil {
			s.addError("rlimit "+l.name, err)
			continue
		}
		// Linux's RLIM_INFINITY is already ^uint64(0) == math.MaxUint64.
		s.setRlimit(l.name, Rlimit{Soft: uint64(r.Cur), Hard: uint64(r.Max)})
	}
}

// readLinuxSysctls reads LinuxSysctls under root into s.Sysctls. Names
// that do not exist are skipped silently (older kernels, per-netns knobs);
// other failures (EACCES...) go to s.Errors. If root itself is missing
// (no /proc) that is one error line rather than silence.
func (s *Settings) readLinuxSysctls(root string) {
	if _, err := os.Stat(root); err != nil {
		s.addError("sysctls", err)
		return
	}
	for _, name := range LinuxSysctls {
		v, err := ReadSysctl(root, name)
		switch {
		case err == nil:
			s.setSysctl(name, v)
		case errors.Is(err, fs.ErrNotExist):
			// Not on this kernel / in this network namespace.
		default:
			s.addError("sysctl", err) // err already names the sysctl
		}
	}
}
