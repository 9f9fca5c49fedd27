package lab

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Cleanup removes what crashed runs left: the named namespaces in
// /run/netns whose names a cell makes (nb-<pid>-<n>-c/-t). Their veth
// pair goes with them: a cell makes its veth ends inside its namespaces,
// so a veth elsewhere is never a cell's and is not touched. Namespaces of
// a process that is still running are left alone unless force is set;
// this process's own cells are always left alone. Nothing without such a
// name is touched. It returns what it removed.
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
		if !stale(e.Name()) {
			continue
		}
		if err := removeNamed(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("namespace %s: %w", e.Name(), err))
			continue
		}
		removed = append(removed, "netns "+e.Name())
	}
	return removed, errors.Join(errs...)
}

// alive reports whether a process with this PID exists.
func alive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
