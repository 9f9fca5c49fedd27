package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/nobufs/nobufs/lab/vm"
)

// newLabVMCmd is `nobufs lab vm`: the VM placement's guest kernel cache.
func newLabVMCmd(st *state) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vm",
		Short: "Manage the VM placement's guest kernels (scenarios with a vm section)",
	}
	var pkg, dir string
	var find bool
	prepare := &cobra.Command{
		Use:   "prepare",
		Short: "Fetch a Debian cloud kernel into the guest kernel cache (apt-get download, never installed)",
		Long: `Prepare makes sure the guest kernel cache holds a Debian cloud kernel and
prints it: by default the newest linux-image-*-cloud-amd64 apt offers, or the
package --package names (linux-image-6.1.0-48-cloud-amd64 is the kernel
LAB.md §6 was measured with; pin it in a scenario with vm.kernel). The
package is fetched with apt-get download and only its vmlinuz and config are
kept; nothing is installed. The cache is $NOBUFS_VM_CACHE, else
$XDG_CACHE_HOME/nobufs/vm, else ~/.cache/nobufs/vm (or --dir). With --find
it only looks in the cache. make vm-kernel does the same as prepare.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(c.Context(), 10*time.Minute)
			defer cancel()
			var k vm.Kernel
			var err error
			if find {
				k, err = vm.FindKernelPackage(dir, pkg)
			} else {
				k, err = vm.PreparePackage(ctx, dir, pkg)
			}
			if err != nil {
				return &exitError{code: exitInternal, err: err}
			}
			fmt.Fprintf(st.stdout, "kernel   %s\npackage  %s %s\nrelease  %s\n", k.Path, k.Package, k.Version, k.Release)
			names := make([]string, 0, len(k.Options))
			for o := range k.Options {
				names = append(names, o)
			}
			sort.Strings(names)
			for _, o := range names {
				v := k.Options[o]
				if v == "" {
					v = "not set"
				}
				fmt.Fprintf(st.stdout, "CONFIG_%s=%s\n", o, v)
			}
			return nil
		},
	}
	prepare.Flags().StringVar(&pkg, "package", "", "the kernel package to fetch (default: the newest linux-image-*-cloud-amd64)")
	prepare.Flags().StringVar(&dir, "dir", "", "the cache directory (default: $NOBUFS_VM_CACHE, else ~/.cache/nobufs/vm)")
	prepare.Flags().BoolVar(&find, "find", false, "only look in the cache; download nothing")
	cmd.AddCommand(prepare)
	return cmd
}
