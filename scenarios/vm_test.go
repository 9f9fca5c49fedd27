package scenarios

import (
	"go.yaml.in/yaml/v4"

	"errors"
	"strings"
	"testing"
)

func TestMiB(t *testing.T) {
	tests := []struct {
		in      string
		want    MiB
		wantErr bool
		text    string
	}{
		{"128M", 128, false, "128M"},
		{"128MiB", 128, false, "128M"},
		{"384", 384, false, "384M"},
		{"1G", 1024, false, "1G"},
		{"2GiB", 2048, false, "2G"},
		{"1536M", 1536, false, "1536M"},
		{"1.5G", 0, true, ""},
		{"128k", 0, true, ""},
		{"", 0, true, ""},
		{"99999999999999999999G", 0, true, ""},
	}
	for _, tt := range tests {
		var m MiB
		err := m.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr || m != tt.want {
			t.Errorf("MiB(%q): got %d, %v; want %d, error %v", tt.in, m, err, tt.want, tt.wantErr)
			continue
		}
		if err == nil && m.String() != tt.text {
			t.Errorf("MiB(%q).String(): got %q, want %q", tt.in, m.String(), tt.text)
		}
	}
}

// TestVMSection: the vm section's defaults, and that a guest may set the
// host-global sysctls a cell refuses.
func TestVMSection(t *testing.T) {
	sc, err := Parse("vm.yaml", []byte(`
name: vm
kind: orphan-churn
vm:
  memory: 1G
  sysctls: {net.ipv4.tcp_mem: "100 200 300", net.ipv4.tcp_max_orphans: 64, vm.overcommit_memory: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	v := sc.VM
	if v.Memory != 1024 || v.Accel != AccelAuto || v.NoFile != DefaultVMNoFile || v.BootTimeout != DefaultVMBootTimeout || v.RunGrace != DefaultVMRunGrace {
		t.Errorf("vm section: got %+v, want 1024 MiB and the defaults", v)
	}
	if got := string(v.Sysctls["net.ipv4.tcp_mem"]); got != "100 200 300" {
		t.Errorf("vm.sysctls tcp_mem: got %q", got)
	}
	// The resolved scenario round-trips (it is what the guest reads).
	b, err := yaml.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("back.yaml", b)
	if err != nil {
		t.Fatalf("the resolved scenario does not parse back: %v\n%s", err, b)
	}
	if back.VM.Memory != 1024 || len(back.VM.Sysctls) != 3 {
		t.Errorf("round trip: %+v", back.VM)
	}
}

func TestVMInvalid(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"memory required", "vm: {accel: tcg}", "vm.memory is required"},
		{"memory too small", "vm: {memory: 64M}", "vm.memory: 64 is out of range (allowed: 80–16384)"},
		{"memory not a size", "vm: {memory: lots}", `want a size such as 128M, 1G or a number of MiB, got "lots"`},
		{"cell and vm", "vm: {memory: 256M}\ncell: {}", "give cell or vm, not both"},
		{"bad kernel", "vm: {memory: 256M, kernel: vmlinuz}", `vm.kernel "vmlinuz": want a Debian kernel package name`},
		{"bad accel", "vm: {memory: 256M, accel: hvf}", `vm.accel: "hvf" is not allowed (allowed: auto, kvm, tcg)`},
		{"bad sysctl name", "vm: {memory: 256M, sysctls: {TCP_MEM: 1}}", `vm.sysctls: "TCP_MEM" is not a sysctl name`},
		{"external target", "vm: {memory: 256M}\ntarget: {address: \"127.0.0.1:9\"}", "target.address cannot be used with vm"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.name, []byte("name: x\nkind: orphan-churn\n"+tt.src+"\n"))
		var ps Problems
		if !errors.As(err, &ps) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want a problem containing %q", tt.name, err, tt.want)
		}
	}
}

// TestCellStillRefusesHostGlobal: the sysctls a VM may set stay refused
// in a cell.
func TestCellStillRefusesHostGlobal(t *testing.T) {
	_, err := Parse("cell.yaml", []byte("name: x\nkind: churn\nchurn: {peers: 1}\ncell: {client: {sysctls: {net.ipv4.tcp_mem: \"1 2 3\"}}}\n"))
	if err == nil || !strings.Contains(err.Error(), "host-global") {
		t.Errorf("got %v, want tcp_mem refused as host-global in a cell", err)
	}
}

// TestOrphanChurnInvalid: what the orphan-churn kind refuses.
func TestOrphanChurnInvalid(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"other target", "target: {builtin: sink}", "kind orphan-churn needs target.builtin: orphan-peer"},
		{"external target", "target: {address: \"127.0.0.1:9\"}", "target.address cannot be used"},
		{"bad burst", "orphan_churn: {burst: huge}", "orphan_churn.burst"},
		{"read_bytes 0", "orphan_churn: {read_bytes: 0}", "orphan_churn.read_bytes: 0 is out of range"},
		{"peers past 127/8", "target: {listen: \"127.255.255.250:0\"}\norphan_churn: {peers: 16}", "run past 127.255.255.255"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.name, []byte("name: x\nkind: orphan-churn\n"+tt.src+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want a problem containing %q", tt.name, err, tt.want)
		}
	}
}

// TestVMSweepAxes: vm.memory is an axis, and the guest's host-global
// sysctls combine with it.
func TestVMSweepAxes(t *testing.T) {
	_, points, err := ParseSweep("vm.sweep.yaml", []byte(`
name: vm-sweep
scenario:
  name: vm-point
  kind: orphan-churn
  vm: {memory: 256M}
axes:
  - path: vm.memory
    values: [128M, 1G]
  - path: vm.sysctls.net.ipv4.tcp_max_orphans
    values: [64, 4096]
repetitions: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		mem     MiB
		orphans string
	}
	wants := []want{{128, "64"}, {128, "4096"}, {1024, "64"}, {1024, "4096"}}
	if len(points) != len(wants) {
		t.Fatalf("points: got %d, want %d", len(points), len(wants))
	}
	for i, w := range wants {
		v := points[i].Scenario.VM
		if v.Memory != w.mem || string(v.Sysctls["net.ipv4.tcp_max_orphans"]) != w.orphans {
			t.Errorf("point %d: memory %s, tcp_max_orphans %q; want %s, %s", i, v.Memory, v.Sysctls["net.ipv4.tcp_max_orphans"], w.mem, w.orphans)
		}
	}
	if got := points[3].Values; strings.Join(got, " ") != "1G 4096" {
		t.Errorf("point 3 values: got %v", got)
	}
}
