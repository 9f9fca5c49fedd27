//go:build !linux && !windows && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package hostfacts

// readPlatform records nothing beyond the portable fields on systems
// without a dedicated reader (solaris, illumos, aix, plan9, js, wasip1...).
func (s *Settings) readPlatform() {}
