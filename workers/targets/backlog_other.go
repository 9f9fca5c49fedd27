//go:build !unix

package targets

import (
	"errors"
	"net"
)

// listenBacklog needs the Unix socket calls: Go's net.Listen cannot set a
// backlog, and never-accept without its tiny backlog would be another
// experiment.
func listenBacklog(listen string, backlog int) (net.Listener, error) {
	return nil, errors.New("target mode never-accept needs a Unix system (listen with a chosen backlog)")
}
