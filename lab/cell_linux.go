package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nobufs/nobufs/schema"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/workers"
)

// netnsDir is where named network namespaces are bind-mounted, as
// `ip netns` does, so `ip netns list` shows them.
const netnsDir = "/run/netns"

// vethTxQLen is the tx queue length of a cell's veth ends: the kernel's
// default for a veth.
const vethTxQLen = 1000

// seq numbers the cells of this process.
var seq atomic.Uint64

// Cell is a live lab cell. Close removes it.
type Cell struct {
	// Name is the cell's run-unique prefix, nb-<token>-<n>.
	Name string
	// ClientNS and TargetNS name the namespaces (ip netns list shows them).
	ClientNS, TargetNS string
	// ClientIf and TargetIf name the veth ends.
	ClientIf, TargetIf string
	// ClientAddr and TargetAddr are the veth addresses.
	ClientAddr, TargetAddr netip.Prefix

	cfd, tfd     int // namespace fds; -1 when not open
	cmade, tmade bool
	ch, th       *netlink.Handle
	sysctls      map[string]map[string]string
	shaping      string
	setup        time.Duration
	teardown     time.Duration
	closed       bool
	locked       bool // holds a count on the owner lock (holdLock)
}

// New builds a cell from a scenario's cell section: two namespaces, the
// veth pair with addresses and loopback up, each side's sysctls and the
// shaping. On error everything already made is removed.
func New(cfg *scenarios.Cell) (c *Cell, err error) {
	t0 := time.Now()
	if err := checkCapable(); err != nil {
		return nil, err
	}
	if err := holdLock(); err != nil {
		return nil, fmt.Errorf("lab cells: %w", err)
	}
	n := seq.Add(1) - 1
	tok := RunToken()
	name := fmt.Sprintf("nb-%s-%d", tok, n)
	c = &Cell{
		Name:       name,
		ClientNS:   name + "-c",
		TargetNS:   name + "-t",
		ClientIf:   fmt.Sprintf("nb%s-%dc", tok, n%10000),
		TargetIf:   fmt.Sprintf("nb%s-%dt", tok, n%10000),
		ClientAddr: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(n % 256), 1}), 24),
		TargetAddr: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, byte(n % 256), 2}), 24),
		cfd:        -1,
		tfd:        -1,
		locked:     true,
		sysctls:    map[string]map[string]string{},
	}
	defer func() {
		if err != nil {
			_ = c.Close()
			c = nil
		}
	}()
	if c.cfd, err = makeNamed(c.ClientNS); err != nil {
		return c, fmt.Errorf("cell %s: create namespace %s: %w", name, c.ClientNS, err)
	}
	c.cmade = true
	if c.tfd, err = makeNamed(c.TargetNS); err != nil {
		return c, fmt.Errorf("cell %s: create namespace %s: %w", name, c.TargetNS, err)
	}
	c.tmade = true
	if c.ch, err = handleIn(c.cfd); err != nil {
		return c, fmt.Errorf("cell %s: netlink in %s: %w", name, c.ClientNS, err)
	}
	if c.th, err = handleIn(c.tfd); err != nil {
		return c, fmt.Errorf("cell %s: netlink in %s: %w", name, c.TargetNS, err)
	}
	// Both ends are created directly inside their namespaces: the host's
	// namespace never holds them, not even for a moment.
	// TxQLen: a zero LinkAttrs would ask for a tx queue length of 0 (the
	// kernel default for a veth is 1000), and a qdisc on such a device
	// makes the kernel log "Caught tx_queue_len zero misconfig".
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: c.ClientIf, TxQLen: vethTxQLen}, PeerName: c.TargetIf,
		PeerNamespace: netlink.NsFd(c.tfd), PeerTxQLen: vethTxQLen}
	if err := c.ch.LinkAdd(veth); err != nil {
		return c, fmt.Errorf("cell %s: add veth %s/%s: %w", name, c.ClientIf, c.TargetIf, err)
	}
	if err := upWithAddr(c.ch, c.ClientIf, c.ClientAddr); err != nil {
		return c, fmt.Errorf("cell %s: client side: %w", name, err)
	}
	if err := upWithAddr(c.th, c.TargetIf, c.TargetAddr); err != nil {
		return c, fmt.Errorf("cell %s: target side: %w", name, err)
	}
	if cfg != nil {
		if err := c.setSysctls(scenarios.SideClient, c.cfd, cfg.Client.Sysctls); err != nil {
			return c, err
		}
		if err := c.setSysctls(scenarios.SideTarget, c.tfd, cfg.Target.Sysctls); err != nil {
			return c, err
		}
		if cfg.Shaping != nil {
			if err := c.shape(cfg.Shaping); err != nil {
				return c, fmt.Errorf("cell %s: shaping: %w", name, err)
			}
		}
	}
	c.setup = time.Since(t0)
	return c, nil
}

// handleIn opens a rtnetlink handle whose socket belongs to the namespace
// fd: it is created on a throw-away thread inside it (rather than through
// netlink.NewHandleAt, whose setns-and-back would hand a thread back to
// the pool if switching back failed). The handle works from any thread.
func handleIn(fd int) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := inNS(fd, func() error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	return h, err
}

// checkCapable tells plainly why cells cannot be made here.
func checkCapable() error {
	if os.Geteuid() != 0 {
		return ErrNeedRoot
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("%w: /proc/self/ns/net: %v", ErrUnsupported, err)
	}
	probeOnce.Do(func() {
		// Root in a container may still be refused namespaces: try one
		// (unnamed, on a throw-away thread; it vanishes with the thread).
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			errc <- unix.Unshare(unix.CLONE_NEWNET)
		}()
		if err := <-errc; err != nil {
			probeErr = fmt.Errorf("%w: creating a network namespace failed: %v", ErrUnsupported, err)
		}
	})
	return probeErr
}

var (
	probeOnce sync.Once
	probeErr  error
)

// makeNamed creates a network namespace bind-mounted at /run/netns/name,
// as `ip netns add` does, and returns an fd for it. The namespace is made
// on a thread of its own that is discarded afterwards: the caller's thread
// never changes namespace.
func makeNamed(name string) (int, error) {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return -1, err
	}
	path := filepath.Join(netnsDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return -1, err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: this thread is in the new namespace, and it
		// dies with this goroutine.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind mount: %w", err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		_ = os.Remove(path)
		return -1, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = removeNamed(name)
		return -1, err
	}
	return fd, nil
}

// errNotNamespace refuses to touch an entry of /run/netns that is not a
// plain file with (at most) a network namespace mounted on it: a symlink,
// a directory, a mount of anything else.
var errNotNamespace = errors.New("not a network namespace mount; left alone")

// nsfsMagic is the filesystem type of a namespace file (NSFS_MAGIC).
const nsfsMagic = 0x6e736673

// removeNamed unmounts and removes /run/netns/name, after checking it is
// one: never through a symlink (UMOUNT_NOFOLLOW, and lstat first), never a
// mount of another filesystem. The namespace itself goes away when nothing
// holds it any more (no fd, thread or socket).
func removeNamed(name string) error {
	path := filepath.Join(netnsDir, name)
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: %w", path, errNotNamespace)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return err
	}
	if fs.Type == nsfsMagic {
		if err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	} else if isMountPoint(path) {
		return fmt.Errorf("%s: %w", path, errNotNamespace)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// isMountPoint reports whether something is mounted on path: its device
// differs from its directory's.
func isMountPoint(path string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(path, &a) != nil || unix.Stat(filepath.Dir(path), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

func upWithAddr(h *netlink.Handle, ifname string, addr netip.Prefix) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	l, err := h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("%s: %w", ifname, err)
	}
	ipn := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, ifname, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("%s up: %w", ifname, err)
	}
	return nil
}

// inNS runs fn on a fresh thread moved into the namespace fd; the thread is
// discarded afterwards (see workers.Cell).
func inNS(fd int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread dies with this goroutine.
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// InClient runs fn on a thread inside the client's namespace (for tests
// and for host-state sampling inside the cell).
func (c *Cell) InClient(fn func() error) error { return inNS(c.cfd, fn) }

// InTarget runs fn on a thread inside the target's namespace.
func (c *Cell) InTarget(fn func() error) error { return inNS(c.tfd, fn) }

// sameNS reports whether the calling thread is in the namespace of fd.
func sameNS(fd int) (bool, error) {
	var want, got unix.Stat_t
	if err := unix.Fstat(fd, &want); err != nil {
		return false, err
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &got); err != nil {
		return false, err
	}
	return want.Dev == got.Dev && want.Ino == got.Ino, nil
}

// errNotNamespaced refuses a sysctl a network namespace does not own.
var errNotNamespaced = errors.New("not owned by a network namespace; refusing to write it")

// nsSysctlRE is the shape of a net.* sysctl name: dotted words only, so
// that the path made of it stays under /proc/sys/net.
var nsSysctlRE = regexp.MustCompile(`^net(\.[a-z0-9_-]+)+$`)

// setSysctls writes the side's sysctls from a thread inside its namespace
// (the kernel resolves /proc/sys/net by the calling thread's namespace)
// and reads each back. Before writing, the thread checks it really is in
// the cell's namespace: the host's settings are never written.
func (c *Cell) setSysctls(side string, fd int, sysctls map[string]scenarios.SysctlValue) error {
	if len(sysctls) == 0 {
		return nil
	}
	names := make([]string, 0, len(sysctls))
	for n := range sysctls {
		names = append(names, n)
	}
	slices.Sort(names)
	got := map[string]string{}
	err := inNS(fd, func() error {
		ok, err := sameNS(fd)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("thread is not in the cell's namespace; refusing to write sysctls")
		}
		for _, n := range names {
			if slices.Contains(scenarios.HostGlobalSysctls, n) || !nsSysctlRE.MatchString(n) {
				return fmt.Errorf("sysctl %q: %w", n, errNotNamespaced)
			}
			path := filepath.Join("/proc/sys", strings.ReplaceAll(n, ".", "/"))
			if err := os.WriteFile(path, []byte(string(sysctls[n])+"\n"), 0); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("sysctl %s does not exist in a network namespace on this kernel", n)
				}
				return fmt.Errorf("sysctl %s = %q: %w", n, sysctls[n], err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("sysctl %s: read back: %w", n, err)
			}
			got[n] = strings.Join(strings.Fields(string(b)), " ")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cell %s: %s side: %w", c.Name, side, err)
	}
	c.sysctls[side] = got
	return nil
}

// shape puts a tbf qdisc on the client's veth.
func (c *Cell) shape(s *scenarios.Shaping) error {
	bits, ok := s.RateBits()
	if !ok {
		return fmt.Errorf("rate %q", s.Rate)
	}
	l, err := c.ch.LinkByName(c.ClientIf)
	if err != nil {
		return err
	}
	rate := bits / 8 // tc's rates are in bytes per second
	q := &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		Rate:       rate,
		Limit:      uint32(s.Limit),
		Buffer:     netlink.Xmittime(rate, uint32(s.Burst)),
	}
	if err := c.ch.QdiscAdd(q); err != nil {
		return err
	}
	c.shaping = fmt.Sprintf("tbf rate %s burst %db limit %db on %s", s.Rate, s.Burst, s.Limit, c.ClientIf)
	return nil
}

// Close removes the cell: the namespaces' names and the fds that keep
// them alive, and with the namespaces the veth pair. It is safe to call more than once and after a
// partial New. Sockets still open in the cell keep its namespace alive
// (but nameless) until they are closed.
func (c *Cell) Close() error {
	if c == nil || c.closed {
		return nil
	}
	t0 := time.Now()
	c.closed = true
	var errs []error
	// The veth pair is not deleted one end at a time: it exists only inside
	// the cell's namespaces, and the kernel destroys it with them. An
	// explicit RTM_DELLINK waits for RCU grace periods (17–40 ms measured
	// here); letting the namespace go costs ~0.2 ms.
	if c.ch != nil {
		c.ch.Close()
	}
	if c.th != nil {
		c.th.Close()
	}
	for _, fd := range []*int{&c.cfd, &c.tfd} {
		if *fd >= 0 {
			_ = unix.Close(*fd)
			*fd = -1
		}
	}
	if c.cmade {
		if err := removeNamed(c.ClientNS); err != nil {
			errs = append(errs, err)
		}
	}
	if c.tmade {
		if err := removeNamed(c.TargetNS); err != nil {
			errs = append(errs, err)
		}
	}
	c.teardown = time.Since(t0)
	if c.locked && len(errs) == 0 {
		// Only once both names are gone: a cell left behind keeps its
		// owner's lock for cleanup to judge.
		c.locked = false
		releaseLock()
	}
	return errors.Join(errs...)
}

// namespaces is what workers.Run needs of the cell.
func (c *Cell) namespaces() *workers.Namespaces {
	cfd, tfd := c.cfd, c.tfd
	return &workers.Namespaces{
		Name:        c.Name,
		ClientPath:  c.ClientNSPath(),
		TargetPath:  filepath.Join(netnsDir, c.TargetNS),
		TargetAddr:  c.TargetAddr.Addr(),
		EnterClient: func() error { return unix.Setns(cfd, unix.CLONE_NEWNET) },
		EnterTarget: func() error { return unix.Setns(tfd, unix.CLONE_NEWNET) },
	}
}

func (c *Cell) report(faults []schema.FaultReport) *schema.CellReport {
	r := &schema.CellReport{
		Name:       c.Name,
		ClientNS:   c.ClientNS,
		TargetNS:   c.TargetNS,
		ClientAddr: c.ClientAddr.String(),
		TargetAddr: c.TargetAddr.String(),
		Shaping:    c.shaping,
		Faults:     faults,
		SetupMs:    c.setup.Seconds() * 1000,
	}
	if len(c.sysctls) > 0 {
		r.Sysctls = c.sysctls
	}
	return r
}

func closeFD(fd int) error { return unix.Close(fd) }

// ClientNSPath is the client namespace's path (/run/netns/NAME), which
// setns(2), ip netns exec and namespace-aware samplers accept.
func (c *Cell) ClientNSPath() string { return filepath.Join(netnsDir, c.ClientNS) }
