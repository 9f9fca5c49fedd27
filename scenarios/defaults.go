package scenarios

import "time"

// Default returns the scenario every file of the given kind is decoded over.
// Fields a file leaves out keep these values; docs/scenarios.md lists them.
func Default(kind string) Scenario {
	s := Scenario{
		Kind: kind,
		Target: Target{Listen: "127.0.0.1:0", ReadyTimeout: Duration(10 * time.Second), StopGrace: Duration(3 * time.Second),
			Watch: Watch{Kernel: true}},
		Load: Load{
			Model:   ModelClosed,
			Workers: 4,
			Arrival: ArrivalConstant,
			Seed:    1,
		},
		Socket: Socket{
			ConnectTimeout: Duration(2 * time.Second),
			IOTimeout:      Duration(5 * time.Second),
			NoDelay:        true,
			Linger:         -1,
		},
		Stop: Stop{
			Duration:  Duration(30 * time.Second),
			MaxOps:    1_000_000,
			OnFailure: true,
		},
		Failure: Failure{Classes: []string{"enobufs", "eaddrnotavail", "eaddrinuse", "emfile", "enfile"}},
		Expect:  Expect{Failure: ExpectAny},
	}
	if k, ok := kindSpec(kind); ok {
		k.Defaults(&s)
	}
	return s
}

// DefaultTarget returns the built-in target mode a kind uses when the file
// names none.
func DefaultTarget(s *Scenario) string {
	if k, ok := kindSpec(s.Kind); ok {
		return k.DefaultTarget(s)
	}
	return TargetSink
}

// TargetOptionsFor returns what the built-in target takes from s (its
// kind's section).
func TargetOptionsFor(s *Scenario) TargetOptions {
	if k, ok := kindSpec(s.Kind); ok && k.TargetOptions != nil {
		return k.TargetOptions(s)
	}
	return TargetOptions{}
}

// Resolve fills what depends on other fields (the default target mode) so
// that the scenario recorded with the results says exactly what ran.
func Resolve(s *Scenario) {
	if s.Target.Builtin == "" && s.Target.Address == "" && !s.Target.Launched() {
		s.Target.Builtin = DefaultTarget(s)
	}
	resolveTarget(s)
	if s.VM != nil {
		resolveVM(s.VM)
	}
}
