package sut

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Launched is a server started with its watchers: the pieces a launched
// program as a Target needs. Sample it once a timeline second; Close it
// after the load.
type Launched struct {
	Server Server
	Proc   *Proc
	Logs   *LogWatch
	PIDs   *PIDWatch
	Diag   *Diag
	port   uint16
	closed bool
}

// LaunchConfig says which server to start where.
type LaunchConfig struct {
	Server Server
	// RunDir is the run's own directory (config, data, output, record).
	RunDir string
	// Addr is the IP:port the server listens on; Netns the network
	// namespace path it runs in ("" = nobufs's own, loopback).
	Addr, Netns string
	// NoFile is its RLIMIT_NOFILE (0: inherited).
	NoFile uint64
	// Params are the server's template parameters over its defaults.
	Params map[string]string
	// ReadyTimeout and StopGrace as in Spec.
	ReadyTimeout, StopGrace time.Duration
}

// Launch starts c.Server and its watchers (log rules, /proc, sock_diag in
// its namespace). On error nothing is left running.
func Launch(ctx context.Context, c LaunchConfig) (*Launched, error) {
	ap, err := netip.ParseAddrPort(c.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: launch %s: Addr: %w", ErrSpec, c.Server.Name, err)
	}
	spec, err := c.Server.Spec(c.RunDir, c.Addr, c.Params)
	if err != nil {
		return nil, err
	}
	logs, err := NewLogWatch(c.Server.Rules)
	if err != nil {
		return nil, err
	}
	spec.NoFile, spec.OnLine = c.NoFile, logs.OnLine
	spec.ReadyTimeout, spec.StopGrace = c.ReadyTimeout, c.StopGrace
	p, err := Start(ctx, spec, c.Netns)
	if err != nil {
		return nil, err
	}
	l := &Launched{Server: c.Server, Proc: p, Logs: logs, port: ap.Port()}
	if l.PIDs, err = WatchPID(p.PID()); err == nil {
		l.Diag, err = OpenDiag(c.Netns)
	}
	if err != nil {
		return nil, errors.Join(err, l.Close(c.StopGrace))
	}
	return l, nil
}

// TargetSample is one reading of a launched server.
type TargetSample struct {
	Time time.Time `json:"time"`
	// Proc is the process tree's descriptors, limits, memory and its
	// namespace's TCP states.
	Proc PIDSample `json:"proc"`
	// Logs are the classes its own log lines fell in so far.
	Logs LogSample `json:"logs"`
	// Listen is its listener's accept queue and backlog (sock_diag).
	Listen []ListenQueue `json:"listen"`
	// Exited is set once the server has ended (during the load: it died).
	Exited *ExitStatus `json:"exited,omitempty"`
}

// Sample reads the server now. Once the server has ended, Proc is empty
// and Exited says how it ended; after Close, Listen is empty too.
func (l *Launched) Sample() (TargetSample, error) {
	s := TargetSample{Time: time.Now()}
	var errs []error
	if st, ok := l.Proc.Exit(); ok {
		s.Exited = &st
	} else if ps, err := l.PIDs.Sample(); err == nil {
		s.Proc = ps
	} else if !errors.Is(err, ErrGone) {
		errs = append(errs, err)
	}
	var err error
	if s.Logs, err = l.Logs.Sample(); err != nil {
		errs = append(errs, err)
	}
	if !l.closed {
		if s.Listen, err = l.Diag.Listeners(l.port); err != nil {
			errs = append(errs, err)
		}
	}
	return s, errors.Join(errs...)
}

// Close stops the server (SIGTERM, SIGKILL after grace) and the watchers.
// Launched is not safe for concurrent use: Sample and Close from one
// goroutine (the sampler's).
func (l *Launched) Close(grace time.Duration) error {
	l.closed = true
	err := l.Proc.Stop(grace)
	if l.Diag != nil {
		err = errors.Join(err, l.Diag.Close())
	}
	return errors.Join(err, l.Logs.Close())
}
