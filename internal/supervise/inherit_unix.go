//go:build unix

package supervise

import "os"

// noInherit keeps f from processes this one starts. On Unix os.Pipe opens
// both ends close-on-exec already.
func noInherit(*os.File) {}
