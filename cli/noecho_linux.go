package cli

import "golang.org/x/sys/unix"

// echoOff turns the terminal's echo off before the password prompt is
// printed, so that input typed (or pasted) right after the prompt appears
// is not echoed before term.ReadPassword gets to turn echo off itself. The
// returned function restores the terminal.
func echoOff(fd int) (restore func()) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if unix.IoctlSetTermios(fd, unix.TCSETS, &quiet) != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}
