package kinds_test

import (
	"context"
	"net/netip"
	"runtime"
	"testing"

	"github.com/nobufs/nobufs/hostfacts"
	"github.com/nobufs/nobufs/internal/testkit"
	"github.com/nobufs/nobufs/internal/testrun"
	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/errclass"
)

func TestRunPortExhaustionOption(t *testing.T) {
	if !hostfacts.PortRangeOptionSupported() || !testkit.InsideSystemRange(41000, 41049) {
		t.Skip("needs Linux >= 6.3 (IP_LOCAL_PORT_RANGE) and 41000-41049 inside net.ipv4.ip_local_port_range")
	}
	sc := testkit.Parse(t, `
name: pe
kind: port-exhaustion
load: {workers: 1}
port_exhaustion: {source_ports: 41000-41049, method: option}
failure: {classes: [eaddrnotavail, eaddrinuse]}
`)
	sum, lines := run(t, sc)
	f := sum.TimeToFailure
	if f == nil {
		t.Fatalf("no time to failure; errors %+v", sum.Errors)
	}
	// 50 ports, one worker: connects 1..50 succeed, #51 finds none free.
	if got, want := (errclass.ErrorKey{Phase: f.Phase, Class: f.Class, Code: f.Code}), (errclass.ErrorKey{Phase: errclass.PhaseConnect, Class: errclass.ClassEADDRNOTAVAIL, Code: 99}); got != want {
		t.Errorf("failure = %v, want %v", got, want)
	}
	// Loopback TIME_WAITs may be reused after tcp_tw_reuse_delay (1 s): a
	// run slowed past that on a loaded machine gets a few more connects,
	// so the exact counts hold for a run that failed within the second.
	if f.AtSec >= 1 {
		t.Skipf("failure came at %.3fs, after the 1 s TIME_WAIT reuse delay: counts are not exact (%d ok)", f.AtSec, f.OKBefore)
	}
	// The target listens on a port of the namespace's ephemeral range; once
	// in a few hundred runs it is one of the 50, which leaves 49.
	ports := uint64(50)
	if ap, err := netip.ParseAddrPort(sum.Target.Address); err == nil && ap.Port() >= 41000 && ap.Port() <= 41049 {
		ports--
	}
	if f.Op != ports+1 || f.OKBefore != ports {
		t.Errorf("failure at op %d after %d ok, want op %d after %d ok (target %s)", f.Op, f.OKBefore, ports+1, ports, sum.Target.Address)
	}
	if sum.StopReason != schema.StopFailure || sum.Status != schema.StatusPassed {
		t.Errorf("stop %q status %q, want %q %q", sum.StopReason, sum.Status, schema.StopFailure, schema.StatusPassed)
	}
	if p := sum.PortExhaustion; p == nil || p.Method != "option" || p.RangeSize != 50 || p.ConnectsBeforeFailure == nil || *p.ConnectsBeforeFailure != ports {
		t.Errorf("port report = %+v", sum.PortExhaustion)
	}
	if got := sum.Latency["connect"].Count; got != ports {
		t.Errorf("connect latency count = %d, want %d", got, ports)
	}
	if len(lines) < 3 || lines[0]["type"] != "start" || lines[len(lines)-1]["type"] != "end" || lines[1]["type"] != "sample" {
		t.Errorf("timeline = %v, want start, samples, end", lines)
	}
}

func TestRunPortExhaustionBind(t *testing.T) {
	sc := testkit.Parse(t, `
name: pe-bind
kind: port-exhaustion
load: {workers: 2}
port_exhaustion: {source_ports: 41100-41149, method: bind}
failure: {classes: [eaddrnotavail, eaddrinuse]}
`)
	sum, _ := run(t, sc)
	f := sum.TimeToFailure
	if f == nil {
		t.Fatalf("no time to failure; errors %+v", sum.Errors)
	}
	// Every port of the range was busy (TIME_WAIT from this or an earlier run).
	if got, want := (errclass.ErrorKey{Phase: f.Phase, Class: f.Class, Code: f.Code}), (errclass.ErrorKey{Phase: errclass.PhaseBind, Class: errclass.ClassEADDRINUSE, Code: 98}); runtime.GOOS == "linux" && got != want {
		t.Errorf("failure = %v, want %v", got, want)
	}
	if f.OKBefore > 50 {
		t.Errorf("%d connects before failure from a 50-port range", f.OKBefore)
	}
	if p := sum.PortExhaustion; p == nil || p.Method != "bind" {
		t.Errorf("port report = %+v", sum.PortExhaustion)
	}
}

// TestRunRecoversAfterFailure keeps the load going after the ports ran out
// and sees connects succeed again once loopback TIME_WAITs may be reused
// (tcp_tw_reuse=2, tcp_tw_reuse_delay 1 s).
func TestRunRecoversAfterFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2.5 s")
	}
	if v, err := hostfacts.ReadSysctl("/proc/sys", "net.ipv4.tcp_tw_reuse"); err != nil || v != "2" || !hostfacts.PortRangeOptionSupported() || !testkit.InsideSystemRange(41200, 41209) {
		t.Skip("needs Linux with tcp_tw_reuse=2, IP_LOCAL_PORT_RANGE and 41200-41209 in the ephemeral range")
	}
	sc := testkit.Parse(t, `
name: recover
kind: port-exhaustion
load: {workers: 1}
port_exhaustion: {source_ports: 41200-41209, method: option}
stop: {after_failure: 2500ms}
`)
	sum, _ := run(t, sc)
	if sum.TimeToFailure == nil {
		t.Fatal("no failure")
	}
	p := sum.PortExhaustion
	if p == nil || p.RecoveredAtSec == nil {
		t.Fatalf("no recovery seen: %+v", p)
	}
	if *p.RecoveredAtSec <= sum.TimeToFailure.AtSec {
		t.Errorf("recovered at %v, before the failure at %v", *p.RecoveredAtSec, sum.TimeToFailure.AtSec)
	}
	if sum.Ops.OK <= 10 {
		t.Errorf("ok = %d, want more than the 10 ports after recovery", sum.Ops.OK)
	}
}

// run runs sc with the engine's tables and returns its summary and
// timeline lines; in a network namespace of the test's own when it can be
// made (root), so that no other program on the host holds a port of the
// range or leaves a TIME_WAIT in it — the counts are then exact.
func run(t *testing.T, sc *scenarios.Scenario) (*schema.Summary, []map[string]any) {
	t.Helper()
	r := testrun.Run(t, context.Background(), sc, workers.Options{Namespaces: testrun.PrivateNetNS(t)})
	return r.Sum, r.Lines
}
