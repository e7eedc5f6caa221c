package examples_test

import (
	"regexp"
	"strconv"
	"testing"
)

func TestLock(t *testing.T) {
	out, _, _ := run(t, "lock")
	ls := lines(out)
	if len(ls) != 3 || ls[0] != "a process holds the lock; killing it mid-section" ||
		ls[1] != "4 processes × 10 increments under the lock: 40" {
		t.Fatalf("output:\n%s\nwant the kill, then a total of exactly 40", out)
	}
	m := regexp.MustCompile(`^done ([0-9.]+)s after the kill \(lease 2s\)$`).FindStringSubmatch(ls[2])
	if m == nil {
		t.Fatalf("last line %q", ls[2])
	}
	// The others waited for the dead holder's lease, not for ever.
	if secs, _ := strconv.ParseFloat(m[1], 64); secs > 30 {
		t.Errorf("the others finished %.1fs after the kill; the lease is 2s", secs)
	}
}
