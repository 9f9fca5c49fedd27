package vm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigRejects(t *testing.T) {
	_, err := Config{MemoryMiB: -1, Accel: "hvf", Grace: -time.Second}.withDefaults()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("error %v, want ErrConfig", err)
	}
	// Every problem at once: kernel, initrd, dir, memory, accel, grace.
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 6 {
		t.Errorf("%d problems reported (%v), want 6", n, err)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Kernel: "k", Initrd: "i", Dir: "d", MemoryMiB: 128}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Machine != DefaultMachine || c.QEMU != "qemu-system-x86_64" || c.BootTimeout != DefaultBootTimeout ||
		c.RunTimeout != DefaultRunTimeout || c.ExitTimeout != DefaultExitTimeout || c.Grace != DefaultGrace {
		t.Errorf("defaults = %+v", c)
	}
}

func TestKernelCmdline(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "console=ttyS0,115200 panic=-1 acpi=off quiet"},
		{Config{ACPI: true}, "console=ttyS0,115200 panic=-1 quiet"},
		{Config{Verbose: true, Append: []string{"NOBUFS_MODE=x"}}, "console=ttyS0,115200 panic=-1 acpi=off NOBUFS_MODE=x"},
	}
	for _, tt := range tests {
		if got := tt.cfg.KernelCmdline(); got != tt.want {
			t.Errorf("KernelCmdline(%+v) = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func TestQEMUArgs(t *testing.T) {
	c := Config{Kernel: "/k/vmlinuz", Initrd: "/i/initrd.gz", MemoryMiB: 384, Machine: "q35"}
	got := strings.Join(c.qemuArgs("tcg", "/s/con", "/s,odd/res"), " ")
	for _, want := range []string{
		"-accel tcg", "-M q35", "-m 384M", "-smp 1", "-nodefaults", "-nographic", "-no-reboot",
		"-kernel /k/vmlinuz", "-initrd /i/initrd.gz",
		"-chardev socket,id=con,path=/s/con -serial chardev:con",
		"-chardev socket,id=res,path=/s,,odd/res -serial chardev:res", // a comma doubled
	} {
		if !strings.Contains(got, want) {
			t.Errorf("qemu args %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "-cpu host") {
		t.Error("-cpu host under tcg")
	}
	if kvm := strings.Join(c.qemuArgs("kvm", "a", "b"), " "); !strings.Contains(kvm, "-accel kvm -M q35 -m 384M -smp 1 -cpu host") {
		t.Errorf("kvm args %q", kvm)
	}
}

func TestFailuresClassify(t *testing.T) {
	f := &failures{start: time.Now()}
	for _, line := range []string{
		"[    1.0] random: crng init done",
		"[    2.1] Out of memory and no killable processes...",
		"[    2.2] Kernel panic - not syncing: System is deadlocked on memory",
		"[    2.3] Kernel panic - not syncing: again",
	} {
		f.console([]byte(line))
	}
	got := f.snapshot()
	if len(got) != 2 || got[0].Class != GuestOOM || got[0].Count != 2 || got[1].Class != GuestPanic || got[1].Count != 2 {
		t.Errorf("failures = %+v, want guest-oom ×2 (two OOM lines) then guest-panic ×2", got)
	}
	r := Result{Failures: got}
	if !r.Failed(GuestOOM) || !r.Failed(GuestPanic) || r.Failed(GuestReset) {
		t.Errorf("Failed: %+v", r.Failures)
	}
}
