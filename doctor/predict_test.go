package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/nobufs/nobufs/hostfacts"

	"github.com/nobufs/nobufs/scenarios"
)

func portScenario(edit func(*scenarios.Scenario)) *scenarios.Scenario {
	sc := scenarios.Default(scenarios.KindPortExhaustion)
	sc.Name = "p"
	sc.Load.Workers = 1
	sc.PortExhaustion.SourcePorts = "44000-44049"
	sc.Stop.Duration = scenarios.Duration(10 * time.Second)
	if edit != nil {
		edit(&sc)
	}
	scenarios.Resolve(&sc)
	return &sc
}

func TestPredict(t *testing.T) {
	// The fake tree has one socket on local port 40000 (0x9C40) and one
	// descriptor in proc/self/fd.
	big := &hostfacts.Rlimit{Soft: 20000, Hard: 20000}
	tests := []struct {
		name      string
		sc        *scenarios.Scenario
		edits     map[string]string
		option    bool // IP_LOCAL_PORT_RANGE works
		resource  string
		class     string
		after     uint64
		detailHas string
	}{
		{"ports, option, tw_reuse on loopback", portScenario(nil), nil, true,
			ResPorts, "eaddrnotavail", 50, "source_ports 44000-44049, 50 ports, TIME_WAIT reusable after 1 s"},
		{"ports, no option: bind, TIME_WAIT 60 s", portScenario(nil), nil, false,
			ResPorts, "eaddrinuse", 50, "TIME_WAIT 60 s, bind cannot reuse it"},
		{"ports, bind outside the system range (MaxUserPort 5000)", portScenario(func(s *scenarios.Scenario) { s.PortExhaustion.SourcePorts = "1025-5000" }), nil, true,
			ResPorts, "eaddrinuse", 3976, "3976 ports"},
		{"ports held now are subtracted for bind", portScenario(func(s *scenarios.Scenario) { s.PortExhaustion.SourcePorts = "39990-40009" }), nil, false,
			ResPorts, "eaddrinuse", 19, "20 ports of which 1 are held now"},
		{"system range when none given", portScenario(func(s *scenarios.Scenario) { s.PortExhaustion.SourcePorts = "" }), nil, true,
			ResPorts, "eaddrnotavail", 28232, "ip_local_port_range 32768-60999, 28232 ports, TIME_WAIT reusable after 1 s"},
		// Ports the kernel picks skip held ones too when a TIME_WAIT holds
		// its port 60 s (issue 9 item 3: with every port of the range in
		// TIME_WAIT the prediction said "after ~1000 connects" and the run
		// failed at op #1); a TIME_WAIT it may reuse after 1 s is not
		// subtracted (the row above: the fake TIME_WAIT on 40000).
		{"ports held now are subtracted for the kernel's pick", portScenario(func(s *scenarios.Scenario) { s.PortExhaustion.SourcePorts = "39990-40009" }),
			map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n"}, true,
			ResPorts, "eaddrnotavail", 19, "20 ports of which 1 are held now, TIME_WAIT 60 s"},
		{"every port held now: at once", portScenario(func(s *scenarios.Scenario) { s.PortExhaustion.SourcePorts = "40000-40000" }),
			map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n"}, true,
			ResPorts, "eaddrnotavail", 0, "all 1 ports of source_ports 40000-40000 are held now (TIME_WAIT 60 s)"},
		{"server closes first: ports not reached", portScenario(func(s *scenarios.Scenario) {
			s.PortExhaustion.CloseFirst = scenarios.CloseServer
			s.Target.Builtin = scenarios.TargetAcceptClose
		}), nil, true, ResNone, "", 0, "no limit is reached"},
		{"open model slower than ports come back", portScenario(func(s *scenarios.Scenario) {
			s.Load.Model, s.Load.Rate = scenarios.ModelOpen, 20
		}), nil, true, ResNone, "", 0, "20/s for 10s"},
		{"open model, tw_reuse 0: ports held 60 s", portScenario(func(s *scenarios.Scenario) {
			s.Load.Model, s.Load.Rate = scenarios.ModelOpen, 20
		}), map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n"}, true, ResPorts, "eaddrnotavail", 50, "TIME_WAIT 60 s"},
		{"run bound ends first", portScenario(func(s *scenarios.Scenario) {
			s.Load.Model, s.Load.Rate = scenarios.ModelOpen, 20
			s.Stop.Duration = scenarios.Duration(2 * time.Second)
		}), map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n"}, true, ResNone, "", 0, "about 40 operations"},
		{"max_ops ends first", portScenario(func(s *scenarios.Scenario) { s.Stop.MaxOps = 30 }), nil, true,
			ResNone, "", 0, "stop.max_ops 30"},
		{"limits.nofile below what the workers hold: fds", portScenario(func(s *scenarios.Scenario) {
			s.Limits.NoFile = 16
			s.Load.Workers = 8
		}), nil, true, ResFDs, "emfile", 4, "limits.nofile 16"}, // (16 - (1 + runFDs)) / 2
		{"limits.nofile enough for the workers", portScenario(func(s *scenarios.Scenario) {
			s.Limits.NoFile = 64
			s.Load.Workers = 8
		}), nil, true, ResPorts, "eaddrnotavail", 50, ""},
		{"more workers than somaxconn: backlog", portScenario(func(s *scenarios.Scenario) {
			s.Load.Workers = 8
			s.PortExhaustion.SourcePorts = "44000-44999"
		}), map[string]string{"proc/sys/net/core/somaxconn": "4\n"}, true, ResBacklog, "etimedout", 4, "somaxconn"},
		{"in a cell: the client side's port range and tcp_tw_reuse, not the host's", portScenario(func(s *scenarios.Scenario) {
			s.PortExhaustion.SourcePorts = ""
			s.Cell = &scenarios.Cell{Client: scenarios.CellSide{Sysctls: map[string]scenarios.SysctlValue{
				"net.ipv4.ip_local_port_range": "1025 5000", "net.ipv4.tcp_tw_reuse": "0"}}}
		}), nil, true, ResPorts, "eaddrnotavail", 3976, "ip_local_port_range 1025-5000, 3976 ports, TIME_WAIT 60 s"},
		{"in a cell: no port is held in the fresh namespace", portScenario(func(s *scenarios.Scenario) {
			s.PortExhaustion.SourcePorts = "39990-40009"
			s.Cell = &scenarios.Cell{}
		}), nil, false, ResPorts, "eaddrinuse", 20, "20 ports, TIME_WAIT 60 s"},
		{"in a cell: the target side's somaxconn", portScenario(func(s *scenarios.Scenario) {
			s.Load.Workers = 8
			s.PortExhaustion.SourcePorts = "44000-44999"
			s.Cell = &scenarios.Cell{Target: scenarios.CellSide{Sysctls: map[string]scenarios.SysctlValue{"net.core.somaxconn": "4"}}}
		}), nil, true, ResBacklog, "etimedout", 4, "somaxconn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHost(t, tt.edits, big, nil)
			h.PortRangeOption = tt.option
			p := Predict(tt.sc, h)
			if p.Resource != tt.resource || p.Class != tt.class || p.AfterOps != tt.after {
				t.Errorf("got %s/%s after %d (%s), want %s/%s after %d", p.Resource, p.Class, p.AfterOps, p.Detail, tt.resource, tt.class, tt.after)
			}
			if !strings.Contains(p.Detail, tt.detailHas) {
				t.Errorf("detail %q, want it to contain %q", p.Detail, tt.detailHas)
			}
			if got, want := len(p.Limits), 4; got != want {
				t.Errorf("%d limits, want %d: %+v", got, want, p.Limits)
			}
		})
	}
}

func TestPredictUnknownKind(t *testing.T) {
	sc := &scenarios.Scenario{Kind: "udp-push"}
	p := Predict(sc, &Host{})
	if p.Resource != ResUnknown || p.Limits == nil {
		t.Errorf("got %+v, want resource unknown and an empty limit list", p)
	}
}

// TestPredictRFC1337: with tcp_rfc1337 0 a TIME_WAIT held 60 s can still
// end early on an RST, and the detail says so; with 1, or where the
// kernel reuses TIME_WAITs after a second anyway, it does not.
func TestPredictRFC1337(t *testing.T) {
	big := &hostfacts.Rlimit{Soft: 20000, Hard: 20000}
	const note = "tcp_rfc1337 0"
	for _, tt := range []struct {
		name  string
		edits map[string]string
		want  bool
	}{
		{"rfc1337 0, TIME_WAIT 60 s", map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n", "proc/sys/net/ipv4/tcp_rfc1337": "0\n"}, true},
		{"rfc1337 1", map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n", "proc/sys/net/ipv4/tcp_rfc1337": "1\n"}, false},
		{"rfc1337 0, TIME_WAIT reusable after 1 s", map[string]string{"proc/sys/net/ipv4/tcp_rfc1337": "0\n"}, false},
		{"rfc1337 unreadable", map[string]string{"proc/sys/net/ipv4/tcp_tw_reuse": "0\n"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHost(t, tt.edits, big, nil)
			h.PortRangeOption = true
			p := Predict(portScenario(nil), h)
			if p.Resource != ResPorts || p.AfterOps != 50 {
				t.Fatalf("got %s after %d (%s), want ports after 50", p.Resource, p.AfterOps, p.Detail)
			}
			if got := strings.Contains(p.Detail, note); got != tt.want {
				t.Errorf("detail %q: contains %q = %v, want %v", p.Detail, note, got, tt.want)
			}
		})
	}
}
