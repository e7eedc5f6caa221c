//go:build !linux

package integration

import (
	"runtime"
	"testing"
)

// needProcFS skips: the tests check every process they start is gone
// (invariant I4), and more, through Linux's /proc.
func needProcFS(tb testing.TB) {
	tb.Helper()
	tb.Skipf("inspects processes through Linux's /proc (children, zombies, environments, sockets): none on %s", runtime.GOOS)
}
