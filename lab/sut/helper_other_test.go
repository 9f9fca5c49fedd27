//go:build !linux

package sut

func helper(mode string, args []string) int {
	if f, ok := helperModes[mode]; ok {
		return f(args)
	}
	return 2
}
