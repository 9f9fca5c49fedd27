// Package vm holds the building blocks of a VM placement: a run that happens
// inside a qemu guest booted with a chosen amount of memory, so that the
// RAM-sized host-global TCP limits (net.ipv4.tcp_mem, tcp_max_orphans…) take
// the values they would have on a machine of that size. It is the Linux analog
// of booting Windows with /MAXMEM.
//
// The pieces:
//
//   - Prepare / FindKernel: a Debian cloud kernel taken out of its package
//     without installing it, kept in a cache directory.
//   - BuildInitramfs: a gzip'd cpio (newc) image whose /init is a static
//     binary, plus any extra files; NewBase / WriteImage: the same with the
//     binary compressed once and each run's scenario in a second archive
//     appended to it.
//   - Encoder / Reader: the framed record stream the guest writes to its
//     results serial port and the host reads back (NB1 lines with a sequence
//     number and a CRC32).
//   - Run: boots qemu, streams the records to a callback as they arrive,
//     watches the console for a guest panic or OOM, and always leaves no
//     qemu process behind.
//
// The guest side (what /init does as PID 1) is the subpackage guest.
package vm

import "errors"

// ErrUnsupported is returned by the parts of this package that need Linux
// (qemu's process handling, apt/dpkg) on another operating system.
var ErrUnsupported = errors.New("vm: not supported on this operating system")
