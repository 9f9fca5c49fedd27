package hostfacts

import (
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

const (
	// windowsTcpipKey holds the legacy TCP/IP tunables (WindowsTcpipValues).
	windowsTcpipKey = `SYSTEM\CurrentControlSet\Services\Tcpip\Parameters`
	// windowsVersionKey holds the OS version numbers.
	windowsVersionKey = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	// windowsRegAccess is read-only; WOW64_64KEY makes a 32-bit build see
	// the same keys as a 64-bit one (ignored on 32-bit Windows).
	windowsRegAccess = registry.QUERY_VALUE | registry.WOW64_64KEY
)

// readPlatform fills in the Windows-specific fields.
func (s *Settings) readPlatform() {
	s.readWindowsVersion()
	s.readWindowsMemory()
	s.readWindowsTcpip()
}

// readWindowsVersion sets Kernel to "major.minor.build" ("10.0.19045").
// It prefers the registry (CurrentMajorVersionNumber and
// CurrentMinorVersionNumber, or CurrentVersion before Windows 10, plus
// CurrentBuildNumber) and falls back to RtlGetVersion, which is not
// subject to application-compatibility version lies.
func (s *Settings) readWindowsVersion() {
	v, err := windowsRegistryVersion()
	if err == nil {
		s.Kernel = v
		return
	}
	s.addError(`registry HKLM\`+windowsVersionKey, err)
	if info := windows.RtlGetVersion(); info != nil {
		s.Kernel = fmt.Sprintf("%d.%d.%d", info.MajorVersion, info.MinorVersion, info.BuildNumber)
	}
}

func windowsRegistryVersion() (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, windowsVersionKey, windowsRegAccess)
	if err != nil {
		return "", err
	}
	defer k.Close()

	var majorMinor string
	maj, _, errMaj := k.GetIntegerValue("CurrentMajorVersionNumber")
	min, _, errMin := k.GetIntegerValue("CurrentMinorVersionNumber")
	if errMaj == nil && errMin == nil {
		majorMinor = strconv.FormatUint(maj, 10) + "." + strconv.FormatUint(min, 10)
	} else {
		// Before Windows 10 only the "6.3"-style string exists.
		cv, _, err := k.GetStringValue("CurrentVersion")
		if err != nil {
			return "", fmt.Errorf("CurrentVersion: %w", err)
		}
		majorMinor = cv
	}
	build, _, err := k.GetStringValue("CurrentBuildNumber")
	if err != nil {
		return "", fmt.Errorf("CurrentBuildNumber: %w", err)
	}
	return majorMinor + "." + build, nil
}

// windowsMemoryStatusEx is MEMORYSTATUSEX (sysinfoapi.h), which
// x/sys/windows does not wrap.
type windowsMemoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

var windowsProcGlobalMemoryStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")

// readWindowsMemory sets MemTotalBytes from GlobalMemoryStatusEx.
func (s *Settings) readWindowsMemory() {
	if err := windowsProcGlobalMemoryStatusEx.Find(); err != nil {
		s.addError("GlobalMemoryStatusEx", err)
		return
	}
	var m windowsMemoryStatusEx
	m.Length = uint32(unsafe.Sizeof(m))
	r1, _, err := windowsProcGlobalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&m)))
	if r1 == 0 {
		s.addError("GlobalMemoryStatusEx", err)
		return
	}
	s.MemTotalBytes = m.TotalPhys
}

// readWindowsTcpip reads WindowsTcpipValues into s.Registry. An absent
// value is normal (the built-in default applies) and is simply left out;
// any other failure goes to s.Errors.
func (s *Settings) readWindowsTcpip() {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, windowsTcpipKey, windowsRegAccess)
	if err != nil {
		s.addError(`registry HKLM\`+windowsTcpipKey, err)
		return
	}
	defer k.Close()
	for _, name := range WindowsTcpipValues {
		v, _, err := k.GetIntegerValue(name)
		switch {
		case err == nil:
			if s.Registry == nil {
				s.Registry = make(map[string]uint64)
			}
			s.Registry[name] = v
		case errors.Is(err, registry.ErrNotExist):
			// Not set: the default applies.
		default:
			s.addError(`registry Tcpip\Parameters\`+name, err)
		}
	}
}
