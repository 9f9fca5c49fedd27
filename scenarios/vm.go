package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// VM runs the scenario inside a qemu guest booted with Memory of RAM, so
// that the host-global TCP limits the kernel sizes from RAM at boot
// (net.ipv4.tcp_mem, tcp_max_orphans…) take the values of a machine of that
// size: the Linux analog of booting Windows with /MAXMEM. Client and
// target run in the guest, on its loopback; the guest streams its timeline
// out every second. See docs/vm.md.
type VM struct {
	// Memory is the guest's RAM (qemu -m): 128M, 1G, or a number of MiB.
	Memory MiB `yaml:"memory" json:"memory"`
	// Kernel pins the guest kernel by its Debian package
	// (linux-image-6.1.0-48-cloud-amd64); empty takes the newest one in
	// the kernel cache.
	Kernel string `yaml:"kernel,omitempty" json:"kernel,omitempty"`
	// Accel is how qemu runs the guest: auto (KVM where it works, else
	// TCG), kvm or tcg.
	Accel string `yaml:"accel" json:"accel"`
	// Sysctls are written in the guest before the run, by dotted name.
	// The guest is its own host: host-global ones (net.ipv4.tcp_mem,
	// net.ipv4.tcp_max_orphans) are allowed here, and only here.
	Sysctls map[string]SysctlValue `yaml:"sysctls,omitempty" json:"sysctls,omitempty"`
	// NoFile is the guest's RLIMIT_NOFILE (soft and hard) for the run: the
	// guest's client and target together hold two descriptors per
	// connection.
	NoFile uint64 `yaml:"nofile" json:"nofile"`
	// BootTimeout bounds qemu's start to the guest's first record.
	BootTimeout Duration `yaml:"boot_timeout" json:"boot_timeout"`
	// RunGrace is how long past stop.duration the guest may take to send
	// its summary before it is stopped.
	RunGrace Duration `yaml:"run_grace" json:"run_grace"`
}

// Accelerators of a VM.
const (
	AccelAuto = "auto"
	AccelKVM  = "kvm"
	AccelTCG  = "tcg"
)

// Defaults of the vm section, filled by Resolve.
const (
	DefaultVMNoFile      = 65536
	DefaultVMBootTimeout = Duration(60 * time.Second)
	DefaultVMRunGrace    = Duration(30 * time.Second)
)

// MiB is an amount of memory in MiB, written 128M, 128MiB, 1G, 1GiB or a
// bare number of MiB (as qemu's -m).
type MiB uint64

var mibRE = regexp.MustCompile(`^([0-9]+)\s*(M|MB|MiB|G|GB|GiB)?$`)

// UnmarshalText reads 128M, 1G or 512.
func (m *MiB) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	sub := mibRE.FindStringSubmatch(s)
	if sub == nil {
		return fmt.Errorf("want a size such as 128M, 1G or a number of MiB, got %q", s)
	}
	n, err := strconv.ParseUint(sub[1], 10, 64)
	if err != nil || n > 1<<30 {
		return fmt.Errorf("size %q is too large", s)
	}
	if strings.HasPrefix(sub[2], "G") {
		n *= 1024
	}
	*m = MiB(n)
	return nil
}

// MarshalText writes 1G for whole GiB, else 384M.
func (m MiB) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// String is MarshalText's form.
func (m MiB) String() string {
	if m > 0 && m%1024 == 0 {
		return strconv.FormatUint(uint64(m/1024), 10) + "G"
	}
	return strconv.FormatUint(uint64(m), 10) + "M"
}

func (*MiB) want() string { return "a size such as 128M, 1G or a number of MiB" }

// vmKernelRE matches a Debian kernel image package name.
var vmKernelRE = regexp.MustCompile(`^linux-image-[0-9][0-9A-Za-z.+~-]*$`)

// vmSysctlRE matches a dotted sysctl name (any subsystem: the guest is its
// own machine).
var vmSysctlRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$`)

// resolveVM fills the vm section's defaults.
func resolveVM(v *VM) {
	if v.Accel == "" {
		v.Accel = AccelAuto
	}
	if v.NoFile == 0 {
		v.NoFile = DefaultVMNoFile
	}
	if v.BootTimeout == 0 {
		v.BootTimeout = DefaultVMBootTimeout
	}
	if v.RunGrace == 0 {
		v.RunGrace = DefaultVMRunGrace
	}
}

func validateVM(v *validator, s *Scenario) {
	m := s.VM
	if s.Cell != nil {
		v.add("vm", "give cell or vm, not both: a VM runs client and target on the guest's loopback")
	}
	if s.Target.Address != "" {
		v.add("target.address", "target.address cannot be used with vm: the guest runs the built-in target on its own loopback")
	}
	if m.Memory == 0 {
		v.add("vm.memory", "vm.memory is required: the guest's RAM, such as 128M or 1G")
	} else {
		v.num("vm.memory", float64(m.Memory))
	}
	if m.Kernel != "" && !vmKernelRE.MatchString(m.Kernel) {
		v.add("vm.kernel", fmt.Sprintf("vm.kernel %q: want a Debian kernel package name such as linux-image-6.1.0-48-cloud-amd64", m.Kernel))
	}
	v.enum("vm.accel", m.Accel)
	v.num("vm.nofile", float64(m.NoFile))
	v.num("vm.boot_timeout", float64(m.BootTimeout))
	v.num("vm.run_grace", float64(m.RunGrace))
	names := make([]string, 0, len(m.Sysctls))
	for n := range m.Sysctls {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) > MaxVMSysctls {
		v.add("vm.sysctls", fmt.Sprintf("vm.sysctls: %d sysctls; at most %d", len(names), MaxVMSysctls))
	}
	for _, n := range names {
		path := "vm.sysctls." + n
		val := string(m.Sysctls[n])
		switch {
		case !vmSysctlRE.MatchString(n):
			v.add(path, fmt.Sprintf("vm.sysctls: %q is not a sysctl name; write it with dots (net.ipv4.tcp_mem)", n))
		case val == "" || len(val) > 256 || strings.ContainsAny(val, "\n\r\x00"):
			v.add(path, fmt.Sprintf("vm.sysctls.%s: want a value of 1–256 characters on one line, got %q", n, val))
		}
	}
}

// MaxVMSysctls bounds vm.sysctls.
const MaxVMSysctls = 64
