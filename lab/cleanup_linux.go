package lab

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/vishvananda/netlink"
)

// Cleanup removes what crashed runs left: named namespaces in /run/netns
// and veth interfaces in the host namespace whose names a cell makes
// (nb-<pid>-<n>-c/-t, nb<pid>-<n>c/t). Objects of a process that is still
// running are left alone unless force is set; this process's own cells are
// always left alone. Nothing without such a name is touched. It returns
// what it removed.
func Cleanup(force bool) ([]string, error) {
	if err := checkCapable(); err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	stale := func(name string) bool {
		pid, ok := ownerPID(name)
		if !ok || pid == os.Getpid() {
			return false
		}
		return force || !alive(pid)
	}
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if !nsNameRE.MatchString(e.Name()) || !stale(e.Name()) {
			continue
		}
		if err := removeNamed(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("namespace %s: %w", e.Name(), err))
			continue
		}
		removed = append(removed, "netns "+e.Name())
	}
	links, err := netlink.LinkList()
	if err != nil {
		errs = append(errs, fmt.Errorf("list links: %w", err))
	}
	for _, l := range links {
		name := l.Attrs().Name
		if l.Type() != "veth" || !linkNameRE.MatchString(name) || !stale(name) {
			continue
		}
		if err := netlink.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("link %s: %w", name, err))
			continue
		}
		removed = append(removed, "link "+name)
	}
	return removed, errors.Join(errs...)
}

// alive reports whether a process with this PID exists.
func alive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
