package scenarios

import "time"

// Default returns the scenario every file of the given kind is decoded over.
// Fields a file leaves out keep these values; docs/scenarios.md lists them.
func Default(kind string) Scenario {
	s := Scenario{
		Kind:   kind,
		Target: Target{Listen: "127.0.0.1:0"},
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
	switch kind {
	case KindPortExhaustion:
		s.PortExhaustion = &PortExhaustion{Method: PortMethodAuto, CloseFirst: CloseClient}
	case KindChurn:
		s.Churn = &Churn{Peers: 16, Lifetime: "exponential(2s)", Gap: "exponential(500ms)", Send: "exponential(2048)", Reply: "exponential(8192)"}
	case KindHalfOpen:
		s.HalfOpen = &HalfOpen{Backlog: 1, Hold: Duration(30 * time.Second)}
		s.Failure.Classes = []string{"deadline", "etimedout", "econnrefused", "ehostunreach", "enetunreach"}
		s.Stop.OnFailure = false
	case KindDeadPeer:
		s.DeadPeer = &DeadPeer{Chunk: 16384, VanishAfter: Duration(time.Second), RedialAfter: Duration(100 * time.Millisecond),
			Top: 5, Reaper: Reaper{Every: Duration(100 * time.Millisecond)}}
		s.Socket.IOTimeout = Duration(500 * time.Millisecond)
		s.Stop = Stop{Duration: Duration(10 * time.Second), MaxOps: 1_000_000}
		s.Failure.Classes = []string{"enobufs", "deadline", "etimedout", "econnreset", "epipe"}
	case KindUDPPush:
		s.UDPPush = &UDPPush{Size: 1000, RecvErr: true}
		s.Load = Load{Model: ModelOpen, Workers: 2, Rate: 1000, Arrival: ArrivalConstant, Seed: 1}
		s.Stop = Stop{Duration: Duration(5 * time.Second), MaxOps: 1_000_000}
		s.Failure.Classes = []string{"enobufs"}
	}
	return s
}

// DefaultTarget returns the built-in target mode a kind uses when the file
// names none.
func DefaultTarget(s *Scenario) string {
	switch s.Kind {
	case KindPortExhaustion:
		if s.PortExhaustion != nil && s.PortExhaustion.CloseFirst == CloseServer {
			return TargetAcceptClose
		}
		if s.PortExhaustion != nil && s.PortExhaustion.Exchange > 0 {
			return TargetEcho
		}
		return TargetSink
	case KindChurn:
		return TargetChurnPeer
	case KindHalfOpen:
		return TargetNeverAccept
	case KindDeadPeer:
		return TargetNonReader
	case KindUDPPush:
		return TargetUDPSink
	}
	return TargetSink
}

// Resolve fills what depends on other fields (the default target mode) so
// that the scenario recorded with the results says exactly what ran.
func Resolve(s *Scenario) {
	if s.Target.Builtin == "" && s.Target.Address == "" {
		s.Target.Builtin = DefaultTarget(s)
	}
}
