package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// faults injects a scenario's cell faults at their times after the load
// starts. stop cancels those not yet due and waits for any running one.
type faults struct {
	c    *Cell
	list []scenarios.Fault

	mu      sync.Mutex
	start   time.Time
	timers  []*time.Timer
	done    []schema.FaultReport
	stopped bool
	wg      sync.WaitGroup
}

func (c *Cell) newFaults(sc *scenarios.Scenario) *faults {
	return &faults{c: c, list: sc.Cell.Faults}
}

// started is workers.Cell.Started: the target listens, the load starts now.
func (f *faults) started(t workers.Target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.start = time.Now()
	for _, fl := range f.list {
		f.wg.Add(1)
		f.timers = append(f.timers, time.AfterFunc(fl.At.D(), func() {
			defer f.wg.Done()
			f.mu.Lock()
			stopped := f.stopped
			f.mu.Unlock()
			if stopped {
				return
			}
			at := time.Since(f.start)
			err := f.c.inject(fl.Action, t)
			r := schema.FaultReport{Action: fl.Action, AtSec: at.Seconds()}
			if err != nil {
				r.Error = err.Error()
			}
			f.mu.Lock()
			f.done = append(f.done, r)
			f.mu.Unlock()
		}))
	}
}

func (f *faults) stop() {
	f.mu.Lock()
	f.stopped = true
	for _, t := range f.timers {
		if t.Stop() {
			f.wg.Done()
		}
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *faults) report() []schema.FaultReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]schema.FaultReport(nil), f.done...)
}

// inject applies one fault to the cell.
func (c *Cell) inject(action string, t workers.Target) error {
	switch action {
	case scenarios.FaultLinkDown, scenarios.FaultLinkDelete:
		l, err := c.th.LinkByName(c.TargetIf)
		if err != nil {
			return err
		}
		if action == scenarios.FaultLinkDown {
			return c.th.LinkSetDown(l)
		}
		return c.th.LinkDel(l)
	case scenarios.FaultRouteBlackhole, scenarios.FaultRouteUnreachable, scenarios.FaultRouteProhibit:
		typ := map[string]int{
			scenarios.FaultRouteBlackhole:   unix.RTN_BLACKHOLE,
			scenarios.FaultRouteUnreachable: unix.RTN_UNREACHABLE,
			scenarios.FaultRouteProhibit:    unix.RTN_PROHIBIT,
		}[action]
		dst := &net.IPNet{IP: c.TargetAddr.Addr().AsSlice(), Mask: net.CIDRMask(32, 32)}
		return c.ch.RouteAdd(&netlink.Route{Dst: dst, Type: typ})
	case scenarios.FaultNftDrop, scenarios.FaultNftReject:
		if t == nil {
			return errors.New("no built-in target: no port to filter")
		}
		var proto, verdict string
		var port int
		switch a := t.Addr().(type) {
		case *net.TCPAddr:
			proto, port, verdict = "tcp", a.Port, "reject with tcp reset"
		case *net.UDPAddr:
			proto, port, verdict = "udp", a.Port, "reject" // ICMP port unreachable
		default:
			return fmt.Errorf("target address %v: not TCP or UDP", t.Addr())
		}
		if action == scenarios.FaultNftDrop {
			verdict = "drop"
		}
		rules := fmt.Sprintf("table inet nobufs {\n chain input {\n  type filter hook input priority 0; policy accept;\n  %s dport %d %s\n }\n}\n", proto, port, verdict)
		return c.InTarget(func() error { return nft(rules) })
	case scenarios.FaultTargetKill:
		if t == nil {
			return errors.New("no built-in target to kill")
		}
		t.Kill()
		return nil
	}
	return fmt.Errorf("unknown fault %q", action)
}

// nft loads a ruleset with the nft command. It runs on a thread inside the
// target namespace, and a child process starts in the namespace of the
// thread that forks it.
func nft(rules string) error {
	path, err := exec.LookPath("nft")
	if err != nil {
		return fmt.Errorf("nft is not installed (apt-get install nftables): %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-f", "-")
	cmd.Stdin = bytes.NewBufferString(rules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}
