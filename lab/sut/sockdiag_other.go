//go:build !linux

package sut

// Diag dumps sockets through sock_diag; Linux only.
type Diag struct{}

// OpenDiag returns ErrUnsupported outside Linux.
func OpenDiag(netnsPath string) (*Diag, error) { return nil, ErrUnsupported }

// Close does nothing outside Linux.
func (d *Diag) Close() error { return nil }

// Listeners returns ErrUnsupported outside Linux.
func (d *Diag) Listeners(port uint16) ([]ListenQueue, error) { return nil, ErrUnsupported }

// Sockets returns ErrUnsupported outside Linux.
func (d *Diag) Sockets(q DiagQuery) ([]DiagSocket, error) { return nil, ErrUnsupported }

// ListenQueues returns ErrUnsupported outside Linux.
func ListenQueues(netnsPath string, port uint16) ([]ListenQueue, error) { return nil, ErrUnsupported }
