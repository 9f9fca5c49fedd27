package scenarios

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/nobufs/nobufs/workers/wire"
)

// Wire is what each connection says first and how its answer is read: a
// protocol's first word, so that a real server sees a valid request
// instead of silence or the churn framing. Every TCP kind says it right
// after its connect; churn with Repeat says it again at each burst, and
// dead-peer with Repeat fills its writes with it.
type Wire struct {
	// Greeting names a known first word with its reply rules
	// (GreetingNames: http-get, resp-ping, socks5-hello,
	// tls12-client-hello); exclusive with Payload.
	Greeting string `yaml:"greeting,omitempty" json:"greeting,omitempty"`
	// Payload is the bytes sent: text with escapes, hex, or a file.
	Payload wire.Payload `yaml:"payload" json:"payload"`
	// Expect, when set, reads the reply (bounded in bytes and time),
	// keeps its first line and classifies it by rules. A greeting brings
	// its own; fields set here override it and rules here are tried first.
	Expect *WireExpect `yaml:"expect,omitempty" json:"expect,omitempty"`
	// Repeat says the payload at every churn burst (instead of only after
	// the connect), and fills dead-peer's writes with it.
	Repeat bool `yaml:"repeat" json:"repeat"`
}

// WireExpect says how a reply is read (workers/wire.Expect).
type WireExpect struct {
	MaxBytes     int      `yaml:"max_bytes" json:"max_bytes"`
	Timeout      Duration `yaml:"timeout" json:"timeout"`
	FirstLineMax int      `yaml:"first_line_max" json:"first_line_max"`
	// Binary: the reply is not line-based (read MaxBytes, show the bytes).
	Binary bool `yaml:"binary" json:"binary"`
	// Rules classify a reply: the first whose pattern matches gives its
	// class (a server class, counted as a failure of phase recv).
	Rules []wire.RuleSpec `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Lines is how many distinct first lines the summary keeps.
	Lines int `yaml:"lines" json:"lines"`
}

// GreetingNames lists the known greetings (workers/wire.Greetings).
var GreetingNames = greetingNames()

func greetingNames() []string {
	var out []string
	for _, g := range wire.Greetings() {
		out = append(out, g.Name)
	}
	return out
}

// Greeting returns the known greeting named name.
func Greeting(name string) (wire.Greeting, bool) {
	for _, g := range wire.Greetings() {
		if g.Name == name {
			return g, true
		}
	}
	return wire.Greeting{}, false
}

// HasPayload reports whether the scenario's connections say something or
// read a first reply (wire is set).
func (s *Scenario) HasPayload() bool { return s.Wire != nil }

func validateWire(v *validator, s *Scenario) {
	w := s.Wire
	if w == nil {
		return
	}
	if w.Greeting != "" {
		v.enum("wire.greeting", w.Greeting)
		if w.Payload != (wire.Payload{}) {
			v.add("wire.payload", "give wire.greeting or wire.payload, not both")
		}
	} else if w.Payload == (wire.Payload{}) && w.Expect == nil {
		v.add("wire.payload", "wire needs a payload (text, hex or file), a greeting, or an expect (a server that speaks first)")
	}
	if w.Payload.File == "" && w.Payload != (wire.Payload{}) {
		if _, err := wire.ParsePayload(w.Payload); err != nil {
			v.add("wire.payload", fmt.Sprintf("wire.payload: %v", err))
		}
	}
	if f := w.Payload.File; f != "" && (w.Payload.Text != "" || w.Payload.Hex != "") {
		v.add("wire.payload", "wire.payload: give one of text, hex and file")
	}
	if e := w.Expect; e != nil {
		v.num("wire.expect.max_bytes", float64(e.MaxBytes))
		v.num("wire.expect.timeout", float64(e.Timeout))
		v.num("wire.expect.first_line_max", float64(e.FirstLineMax))
		v.num("wire.expect.lines", float64(e.Lines))
		validateRules(v, "wire.expect.rules", e.Rules)
	}
	switch s.Kind {
	case KindUDPPush:
		v.add("wire", "wire applies to the TCP kinds; udp-push sends its own datagrams")
	case KindHold:
		v.add("wire", "kind hold holds silent connections on an event loop; to say something and hold, use kind half-open with wire")
	case KindSlowReader:
		if s.SlowReader != nil && s.SlowReader.Request != "" {
			v.add("wire.payload", "give slow_reader.request or wire.payload, not both")
		}
		if w.Expect != nil {
			v.add("wire.expect", "kind slow-reader reads slowly on purpose: wire.expect would read the reply at once; leave it out")
		}
	case KindChurn:
		if s.Target.Builtin == TargetChurnPeer {
			v.add("wire", "the churn-peer target speaks the churn framing; wire is for a real server (target.address, target.server, target.command)")
		}
	}
	if w.Repeat && s.Kind != KindChurn && s.Kind != KindDeadPeer {
		v.add("wire.repeat", "wire.repeat applies to kinds churn (a payload per burst) and dead-peer (writes filled with it)")
	}
	if w.Repeat && w.Payload == (wire.Payload{}) && w.Greeting == "" {
		v.add("wire.repeat", "wire.repeat needs a payload")
	}
}

// resolveWire fills the expect defaults (0 means the default) and makes a
// payload file's path relative to dir absolute.
func resolveWire(s *Scenario, dir string) {
	w := s.Wire
	if w == nil {
		return
	}
	if f := w.Payload.File; f != "" && dir != "" && !filepath.IsAbs(f) {
		w.Payload.File = filepath.Join(dir, f)
	}
	if e := w.Expect; e != nil {
		if e.MaxBytes == 0 {
			e.MaxBytes = wire.DefaultMaxBytes
		}
		if e.Timeout == 0 {
			e.Timeout = Duration(wire.DefaultTimeout)
		}
		if e.FirstLineMax == 0 {
			e.FirstLineMax = wire.DefaultFirstLineMax
		}
		if e.Lines == 0 {
			e.Lines = wire.DefaultLinesMax
		}
	}
}

// Words returns what wire says and how its reply is read: the payload's
// bytes (a greeting's, or the payload's; nil when the server speaks
// first) and the expect (nil: the reply is not read). A greeting brings
// its expect; wire.expect's fields override it and its rules are tried
// first.
func (w *Wire) Words() (payload []byte, ex *wire.Expect, err error) {
	if w == nil {
		return nil, nil, nil
	}
	if w.Greeting != "" {
		g, ok := Greeting(w.Greeting)
		if !ok {
			return nil, nil, fmt.Errorf("wire.greeting %q: no such greeting", w.Greeting)
		}
		payload = g.Bytes()
		e := g.Expect
		e.Rules = append([]wire.Rule(nil), g.Expect.Rules...)
		ex = &e
	} else if w.Payload != (wire.Payload{}) {
		if payload, err = wire.ParsePayload(w.Payload); err != nil {
			return nil, nil, fmt.Errorf("wire.payload: %w", err)
		}
	}
	if e := w.Expect; e != nil {
		if ex == nil {
			ex = &wire.Expect{}
		}
		rules, err := wire.CompileRules(e.Rules)
		if err != nil {
			return nil, nil, fmt.Errorf("wire.expect.rules: %w", err)
		}
		if e.MaxBytes > 0 {
			ex.MaxBytes = e.MaxBytes
		}
		if e.Timeout > 0 {
			ex.Timeout = e.Timeout.D()
		}
		if e.FirstLineMax > 0 {
			ex.FirstLineMax = e.FirstLineMax
		}
		ex.Binary = ex.Binary || e.Binary
		ex.Rules = append(rules, ex.Rules...)
	}
	return payload, ex, nil
}

// LinesKept is how many distinct first lines the summary keeps.
func (w *Wire) LinesKept() int {
	if w == nil || w.Expect == nil || w.Expect.Lines == 0 {
		return wire.DefaultLinesMax
	}
	return w.Expect.Lines
}

// FailingClass reports whether a reply rule's class is a failure: a
// server class (ErrorClasses), not a greeting's label of a good answer.
func FailingClass(c string) bool { return slices.Contains(RuleClasses, c) }
