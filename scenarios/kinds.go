package scenarios

import (
	"fmt"
	"reflect"
)

// KindSpec is what the file format knows of one kind. KindSpecs lists
// them; nothing else in the package names a kind. A new kind is its own
// file (section type, spec functions) plus one line in KindSpecs and one
// field in Scenario for its section.
type KindSpec struct {
	// Name is the kind's name in files (kind: NAME).
	Name string
	// Section is the key of the kind's section (port_exhaustion…); it is
	// the yaml name of a Scenario field.
	Section string
	// Defaults sets the kind's section to its defaults, and the common
	// fields whose defaults differ for this kind.
	Defaults func(s *Scenario)
	// DefaultTarget returns the built-in target mode used when the file
	// names none.
	DefaultTarget func(s *Scenario) string
	// Validate checks the kind's section and what it needs of the rest of
	// the scenario. It is called only when the section is set.
	Validate func(v *validator, s *Scenario)
	// TargetOptions returns what the kind's built-in target takes from
	// the scenario; nil: nothing.
	TargetOptions func(s *Scenario) TargetOptions
	// Resolve, when set, fills what depends on the rest of the decoded
	// file (given says whether the file itself set a field, by path);
	// called before validation.
	Resolve func(s *Scenario, given func(path string) bool)
	// Scale, when set, replaces the kind's section with one whose counts
	// (such as hold.connections) are share(count): one segment's part of
	// a run split between processes (load.segments, package segment).
	Scale func(s *Scenario, share func(int) int)
}

// ScaleKind applies the kind's Scale to s (nothing for a kind without).
func ScaleKind(s *Scenario, share func(int) int) {
	if k, ok := kindSpec(s.Kind); ok && k.Scale != nil {
		k.Scale(s, share)
	}
}

// KindSpecs is the table of kinds, in documentation order.
var KindSpecs = []KindSpec{
	portExhaustionSpec,
	churnSpec,
	halfOpenSpec,
	deadPeerSpec,
	udpPushSpec,
	slowReaderSpec,
	holdSpec,
	orphanChurnSpec,
}

// Kinds lists every scenario kind, in documentation order.
var Kinds = kindNames()

func kindNames() []string {
	out := make([]string, len(KindSpecs))
	for i, k := range KindSpecs {
		out[i] = k.Name
	}
	return out
}

func kindSpec(name string) (KindSpec, bool) {
	for _, k := range KindSpecs {
		if k.Name == name {
			return k, true
		}
	}
	return KindSpec{}, false
}

// TargetOptions are the settings a built-in target takes from a scenario
// (its kind's section). Each field belongs to one target mode.
type TargetOptions struct {
	// Peers is how many consecutive loopback addresses churn-peer listens
	// on (same port); 0 or 1 means just the listen address.
	Peers int
	// Backlog is never-accept's listen backlog.
	Backlog int
	// ReadBytes is what a non-reader reads from each connection before it
	// stops reading.
	ReadBytes int64
	// VanishAfter is how long a vanish target keeps a connection before it
	// resets it.
	VanishAfter Duration
	// SendTimeout is how long a streamer lets a write block before it
	// gives up on the client.
	SendTimeout Duration
}

// sectionSet reports whether s has the section of kind k set.
func sectionSet(s *Scenario, k KindSpec) bool {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		if yamlName(t.Field(i)) == k.Section {
			f := v.Field(i)
			return f.Kind() == reflect.Pointer && !f.IsNil()
		}
	}
	panic("scenarios: kind " + k.Name + " names section " + k.Section + ", which Scenario has no field for")
}

// validateKinds checks the section of the scenario's kind, and that no
// other kind's section is set.
func validateKinds(v *validator, s *Scenario) {
	for _, k := range KindSpecs {
		if !sectionSet(s, k) {
			continue
		}
		if s.Kind != k.Name {
			v.add(k.Section, fmt.Sprintf("%s applies to kind %s only, this scenario is kind %s", k.Section, k.Name, s.Kind))
			continue
		}
		k.Validate(v, s)
	}
}
