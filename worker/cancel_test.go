package worker

import (
	"strconv"
	"testing"
)

// TestCancelSetBounded: however many notices come, the set holds at most
// maxCancelled keys, and a key just added is there.
func TestCancelSetBounded(t *testing.T) {
	var c cancelSet
	for i := range 5 * maxCancelled {
		key := "_INBOX.x " + strconv.Itoa(i)
		c.add(key)
		if !c.has(key) {
			t.Fatalf("key %d missing right after add", i)
		}
		if len(c.m) > maxCancelled {
			t.Fatalf("%d keys after %d adds; the bound is %d", len(c.m), i+1, maxCancelled)
		}
	}
}
