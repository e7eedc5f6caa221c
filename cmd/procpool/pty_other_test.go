//go:build !linux

package main

import (
	"os"
	"testing"
)

// openPTY skips: the test opens a pseudo-terminal through Linux's
// /dev/ptmx ioctls.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	t.Skip("opens a pseudo-terminal the Linux way (/dev/ptmx ioctls)")
	return nil, nil
}
