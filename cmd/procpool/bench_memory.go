package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/procpool/procpool/pool"
)

// memory records the resident set size of the local worker processes (the
// largest) and of this process, which holds the caller and the embedded
// broker, after the workloads have run. It reads /proc: elsewhere it says
// so and records nothing.
func (b *bench) memory(p *pool.Pool) error {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		fmt.Fprintln(b.out, "memory: not measured (it reads Linux's /proc)")
		return nil
	}
	var worst, worstPrivate float64
	n := 0
	for _, w := range p.Workers() {
		if !w.Local {
			continue
		}
		rss, err := rssMB(w.PID)
		if err != nil {
			return err
		}
		private, err := privateMB(w.PID)
		if err != nil {
			return err
		}
		worst, worstPrivate = max(worst, rss), max(worstPrivate, private)
		n++
	}
	self, err := rssMB(os.Getpid())
	if err != nil {
		return err
	}
	if n > 0 {
		b.record("worker_rss_mb", fmt.Sprintf("worker RSS, largest of %d", n), "MB", []float64{worst})
		// Most of a worker's RSS is the program's code, shared with the
		// parent (the same binary): its private memory is its real cost.
		b.record("worker_private_mb", fmt.Sprintf("worker private memory (USS), largest of %d", n), "MB", []float64{worstPrivate})
	}
	b.record("parent_rss_mb", "parent RSS (caller + embedded broker)", "MB", []float64{self})
	return nil
}

// rssMB reads VmRSS from /proc/<pid>/status.
func rssMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// privateMB reads a process's private (unshared) memory, clean and dirty,
// from /proc/<pid>/smaps_rollup.
func privateMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var kb float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, field := range []string{"Private_Clean:", "Private_Dirty:"} {
			if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
				v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				if err != nil {
					return 0, err
				}
				kb += v
			}
		}
	}
	return kb / 1024, sc.Err()
}
