//go:build !linux

package cli

// echoOff is a no-op where the early echo switch is not implemented:
// term.ReadPassword still turns echo off while it reads.
func echoOff(int) (restore func()) { return func() {} }
