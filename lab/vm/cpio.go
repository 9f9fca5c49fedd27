package vm

import (
	"errors"
	"fmt"
	"io"
)

// cpio "newc" (SVR4, no CRC), the format the kernel unpacks into its initial
// rootfs (Documentation/driver-api/early-userspace/buffer-format.rst):
//
//	header "070701" + 13 fields of 8 hex digits, name + NUL, pad to 4,
//	data, pad to 4; the archive ends with an entry named "TRAILER!!!".
//
// The offsets are those of the whole archive, so the writer counts bytes.

const (
	cpioMagic   = "070701"
	cpioTrailer = "TRAILER!!!"
	cpioHdrLen  = 110
)

// File mode type bits as cpio (and Linux) encode them.
const (
	ModeDir     = 0o040000
	ModeRegular = 0o100000
	ModeSymlink = 0o120000
	ModeCharDev = 0o020000
	modeType    = 0o170000
)

// cpioEntry is one archive member.
type cpioEntry struct {
	Name           string // without a leading "/"
	Mode           uint32 // type bits | permissions
	UID, GID       uint32
	Nlink          uint32
	MTime          uint32
	RDevMajor      uint32 // for device nodes
	RDevMinor      uint32
	Size           int64
	Ino            uint32
	devMaj, devMin uint32
}

// cpioWriter writes a newc archive.
type cpioWriter struct {
	w   io.Writer
	off int64
	err error
}

var errCPIO = errors.New("cpio")

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.off += int64(n)
	if err != nil {
		c.err = fmt.Errorf("%w: %w", errCPIO, err)
	}
}

func (c *cpioWriter) pad() {
	if r := c.off % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// header writes an entry's header and name; the caller writes Size bytes of
// data next and then calls pad.
func (c *cpioWriter) header(e cpioEntry) {
	if e.Size < 0 || e.Size > 0xffffffff {
		if c.err == nil {
			c.err = fmt.Errorf("%w: %s: size %d does not fit in newc", errCPIO, e.Name, e.Size)
		}
		return
	}
	h := fmt.Appendf(nil, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		cpioMagic, e.Ino, e.Mode, e.UID, e.GID, e.Nlink, e.MTime, uint32(e.Size),
		e.devMaj, e.devMin, e.RDevMajor, e.RDevMinor, len(e.Name)+1, 0)
	c.write(h)
	c.write(append([]byte(e.Name), 0))
	c.pad()
}

// entry writes a whole entry with its data.
func (c *cpioWriter) entry(e cpioEntry, data io.Reader) {
	c.header(e)
	if data != nil && c.err == nil {
		n, err := io.Copy(writerFunc(c.write), io.LimitReader(data, e.Size))
		switch {
		case err != nil && c.err == nil:
			c.err = fmt.Errorf("%w: %s: %w", errCPIO, e.Name, err)
		case n != e.Size && c.err == nil:
			c.err = fmt.Errorf("%w: %s: %d bytes of data, header says %d", errCPIO, e.Name, n, e.Size)
		}
	}
	c.pad()
}

// trailer ends the archive.
func (c *cpioWriter) trailer() error {
	c.header(cpioEntry{Name: cpioTrailer, Nlink: 1})
	return c.err
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }
