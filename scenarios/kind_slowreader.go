package scenarios

import (
	"fmt"
	"time"
)

// KindSlowReader is slowhttptest's slow read (-X), the reverse of
// dead-peer: each worker holds one connection, asks for data (a request
// it writes, or a target that streams), then reads slowly or not at all,
// so the server's send queue fills; the summary shows how much the server
// holds and when it gave up.
const KindSlowReader = "slow-reader"

// TargetStreamer writes to each connection it accepts as fast as the
// client lets it, and gives up on a client whose write stays blocked for
// slow_reader.server_send_timeout (nginx's send_timeout), resetting it.
const TargetStreamer = "streamer"

// SlowReader is the slow-reader kind: each operation is one slow read on
// the worker's connection (dialled, and the request written, when it has
// none): wait ReadEvery, then read at most ReadBytes (with
// socket.io_timeout), or with ReadBytes 0 only look whether the server has
// closed. A read that finds the server closed (EOF or RST, phase recv)
// ends the connection; the worker dials again after RedialAfter.
type SlowReader struct {
	// Request is written once after connecting (e.g. an HTTP GET for a
	// large resource); empty for a target that streams unasked.
	Request string `yaml:"request,omitempty" json:"request,omitempty"`
	// ReadBytes is the most bytes one read takes; 0: never read.
	ReadBytes int `yaml:"read_bytes" json:"read_bytes"`
	// ReadEvery is the pause before each read.
	ReadEvery Duration `yaml:"read_every" json:"read_every"`
	// RedialAfter is the pause after a connection ended before the next.
	RedialAfter Duration `yaml:"redial_after" json:"redial_after"`
	// ServerSendTimeout is how long the built-in streamer lets one write
	// block before it gives up on the client (resets it); 0: never.
	ServerSendTimeout Duration `yaml:"server_send_timeout" json:"server_send_timeout"`
}

var slowReaderSpec = KindSpec{
	Name:    KindSlowReader,
	Section: "slow_reader",
	Defaults: func(s *Scenario) {
		s.SlowReader = &SlowReader{ReadBytes: 1, ReadEvery: Duration(time.Second), RedialAfter: Duration(100 * time.Millisecond),
			ServerSendTimeout: Duration(2 * time.Second)}
		s.Stop = Stop{Duration: Duration(10 * time.Second), MaxOps: 1_000_000}
		s.Failure.Classes = []string{"eof", "econnreset", "emfile", "enobufs"}
	},
	DefaultTarget: func(*Scenario) string { return TargetStreamer },
	Validate:      validateSlowReader,
	TargetOptions: func(s *Scenario) TargetOptions {
		return TargetOptions{SendTimeout: s.SlowReader.ServerSendTimeout}
	},
}

func validateSlowReader(v *validator, s *Scenario) {
	p := s.SlowReader
	v.num("slow_reader.read_bytes", float64(p.ReadBytes))
	v.num("slow_reader.read_every", float64(p.ReadEvery))
	v.num("slow_reader.redial_after", float64(p.RedialAfter))
	v.num("slow_reader.server_send_timeout", float64(p.ServerSendTimeout))
	if len(p.Request) > 64<<10 {
		v.add("slow_reader.request", fmt.Sprintf("slow_reader.request: %d bytes; at most 65536", len(p.Request)))
	}
	if b := s.Target.Builtin; b != "" && b != TargetStreamer {
		v.add("target.builtin", fmt.Sprintf("kind %s reads what the server sends and needs target.builtin: %s (or a target.address that streams), got %s", KindSlowReader, TargetStreamer, b))
	}
	if s.Kind != KindSlowReader {
		return
	}
	if s.Load.Model == ModelOpen {
		v.add("load.model", "kind slow-reader holds one connection per worker: use the closed model (load.workers connections)")
	}
}
