package main

import (
	"os"

	"github.com/nobufs/nobufs/hoststate"
	"github.com/nobufs/nobufs/lab/vmlab"
	"github.com/nobufs/nobufs/workers"
	"github.com/nobufs/nobufs/workers/kinds"
	"github.com/nobufs/nobufs/workers/targets"
)

// guestHook makes nobufs the /init of a VM placement's guest when it runs
// as PID 1 with NOBUFS_GUEST set (the kernel command line the placement
// boots it with): it runs the guest's scenario and ends the guest, and
// never returns. Anywhere else it does nothing.
func guestHook() {
	if os.Getpid() != 1 || os.Getenv(vmlab.EnvGuest) == "" {
		return
	}
	vmlab.GuestMain(workers.Options{
		Kinds:   kinds.Table,
		Targets: targets.Table,
		HostState: func(netns string) (func() any, func(), error) {
			hs, err := hoststate.New(hoststate.Options{NetNS: netns})
			if err != nil {
				return nil, nil, err
			}
			return func() any { return hs.Sample() }, func() { hs.Close() }, nil
		},
		ToolVersion: version,
	})
}
