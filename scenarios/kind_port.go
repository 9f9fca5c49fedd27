package scenarios

import "fmt"

func validatePortExhaustion(v *validator, s *Scenario) {
	p := s.PortExhaustion
	v.enum("port_exhaustion.method", p.Method)
	v.enum("port_exhaustion.close_first", p.CloseFirst)
	v.num("port_exhaustion.exchange", float64(p.Exchange))
	if p.SourcePorts != "" {
		lo, hi, ok := p.PortRange()
		b := Bounds["port_exhaustion.source_ports"]
		switch {
		case !ok:
			v.add("port_exhaustion.source_ports", fmt.Sprintf("port_exhaustion.source_ports %q: want LOW-HIGH such as 40000-40049", p.SourcePorts))
		case !b.ok(float64(lo)) || !b.ok(float64(hi)) || lo > hi:
			v.add("port_exhaustion.source_ports", fmt.Sprintf("port_exhaustion.source_ports %q: want LOW-HIGH with %s and LOW <= HIGH", p.SourcePorts, b))
		}
	} else if p.Method != PortMethodAuto {
		v.add("port_exhaustion.method", "port_exhaustion.method needs port_exhaustion.source_ports")
	}
	if p.Exchange > 0 && p.CloseFirst == CloseServer {
		v.add("port_exhaustion.exchange", "port_exhaustion.exchange needs close_first: client (an accept-close target closes before it reads)")
	}
	if b := s.Target.Builtin; b != "" {
		want := portDefaultTarget(s)
		if p.CloseFirst == CloseServer && b != TargetAcceptClose {
			v.add("target.builtin", fmt.Sprintf("close_first: server needs target.builtin: %s, got %s", TargetAcceptClose, b))
		} else if p.CloseFirst == CloseClient && b == TargetAcceptClose {
			v.add("target.builtin", fmt.Sprintf("close_first: client needs a target that waits for the client (%s or %s), got %s", TargetSink, TargetEcho, b))
		} else if p.Exchange > 0 && b != want {
			v.add("target.builtin", fmt.Sprintf("port_exhaustion.exchange reads the bytes back and needs target.builtin: %s, got %s", want, b))
		}
	}
}

var portExhaustionSpec = KindSpec{
	Name:    KindPortExhaustion,
	Section: "port_exhaustion",
	Defaults: func(s *Scenario) {
		s.PortExhaustion = &PortExhaustion{Method: PortMethodAuto, CloseFirst: CloseClient}
	},
	DefaultTarget: portDefaultTarget,
	Validate:      validatePortExhaustion,
}

// portDefaultTarget: the server closes first against accept-close, an
// exchange needs echo, the rest a sink.
func portDefaultTarget(s *Scenario) string {
	switch p := s.PortExhaustion; {
	case p != nil && p.CloseFirst == CloseServer:
		return TargetAcceptClose
	case p != nil && p.Exchange > 0:
		return TargetEcho
	}
	return TargetSink
}
