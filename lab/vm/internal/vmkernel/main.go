// Command vmkernel fills the VM kernel cache (make vm-kernel): it runs
// lab/vm.Prepare on the default cache directory (or -dir) and prints the
// kernel it holds.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"time"

	"github.com/nobufs/nobufs/lab/vm"
)

func main() {
	dir := flag.String("dir", "", "cache directory (default: $NOBUFS_VM_CACHE, else $XDG_CACHE_HOME/nobufs/vm, else ~/.cache/nobufs/vm)")
	find := flag.Bool("find", false, "only look in the cache, download nothing")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var k vm.Kernel
	var err error
	if *find {
		k, err = vm.FindKernel(*dir)
	} else {
		k, err = vm.Prepare(ctx, *dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmkernel:", err)
		os.Exit(1)
	}
	fmt.Printf("kernel  %s\npackage %s %s\nrelease %s\n", k.Path, k.Package, k.Version, k.Release)
	opts := make([]string, 0, len(k.Options))
	for o := range k.Options {
		opts = append(opts, o)
	}
	sort.Strings(opts)
	for _, o := range opts {
		v := k.Options[o]
		if v == "" {
			v = "not set"
		}
		fmt.Printf("CONFIG_%s=%s\n", o, v)
	}
}
