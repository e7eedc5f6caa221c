package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"

	"github.com/procpool/procpool/internal/spawn"
)

// startProfiles starts the profiles the environment asks for (procpool
// bench --worker-cpuprofile / --worker-memprofile set it) and returns what
// writes them at exit.
func startProfiles() (stop func()) {
	var stops []func()
	if dir := os.Getenv(spawn.CPUProfileEnv); dir != "" {
		if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.pprof", os.Getpid()))); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
			} else {
				f.Close()
			}
		}
	}
	if dir := os.Getenv(spawn.MemProfileEnv); dir != "" {
		runtime.MemProfileRate = 4096 // a sample every 4 KiB, not 512 KiB
		stops = append(stops, func() {
			if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.allocs.pprof", os.Getpid()))); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
