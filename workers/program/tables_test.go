package program

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/lab/sut"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers/errclass"
)

// TestServerTablesAgree: the file format's server names and parameters
// are lab/sut's table, and every class a server's or the kernel's rule
// gives is one of the fixed signal classes (a rule of a server a scenario
// names its own rules with may give).
func TestServerTablesAgree(t *testing.T) {
	var names []string
	for _, s := range sut.Servers() {
		names = append(names, s.Name)
		want := slices.Sorted(maps.Keys(s.Params))
		want = append(want, s.Required...)
		slices.Sort(want)
		if got := scenarios.ServerParams[s.Name]; !slices.Equal(got, want) {
			t.Errorf("scenarios.ServerParams[%s] = %v, lab/sut has %v", s.Name, got, want)
		}
		for _, r := range append(slices.Clone(s.Rules), s.Replies...) {
			if !slices.Contains(scenarios.RuleClasses, r.Class) || !errclass.IsSignalClass(errclass.Class(r.Class)) {
				t.Errorf("server %s: rule %q gives class %q, not a rule class", s.Name, r.Pattern, r.Class)
			}
		}
	}
	if !slices.Equal(names, scenarios.ServerNames) {
		t.Errorf("scenarios.ServerNames = %v, lab/sut has %v", scenarios.ServerNames, names)
	}
	for _, r := range sut.KmsgRules {
		if !errclass.IsSignalClass(errclass.Class(r.Class)) || !strings.HasPrefix(r.Class, "kernel-") {
			t.Errorf("kernel rule %q gives class %q, not a kernel class", r.Pattern, r.Class)
		}
	}
	for _, c := range []string{sut.ClassServerEMFILE, sut.ClassServerENFILE, sut.ClassServerNoMem, sut.ClassServerConnLimit,
		sut.ClassServerWorkerConnections, sut.ClassServerFDLow, sut.ClassServerFDTooLow, sut.ClassServerRefused, sut.ClassServerBadRequest,
		sut.ClassKernelSYNFlood, sut.ClassKernelTCPOOM, sut.ClassKernelOrphans, sut.ClassKernelTWOverflow, sut.ClassKernelConntrack,
		sut.ClassKernelFileMax, sut.ClassKernelNeighOverflw, sut.ClassKernelOOMKill} {
		if !errclass.IsSignalClass(errclass.Class(c)) {
			t.Errorf("lab/sut class %q is not an errclass signal class", c)
		}
	}
}
