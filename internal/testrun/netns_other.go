//go:build !linux

package testrun

import (
	"testing"

	"github.com/nobufs/nobufs/workers"
)

// PrivateNetNS returns nil: network namespaces are Linux's.
func PrivateNetNS(testing.TB) *workers.Namespaces { return nil }
