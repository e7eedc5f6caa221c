package pool

import (
	"fmt"
	"testing"
)

// Encoding one Map chunk of 12,500 short strings into its wire form.
func BenchmarkEncodeChunk(b *testing.B) {
	items := make([]string, 12500)
	for i := range items {
		items[i] = fmt.Sprintf("item-%d-abc", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		c := &chunker[string]{name: "bench", size: len(items), hint: len(items)}
		chunks := 0
		emit := func(encodedChunk, int) error { chunks++; return nil }
		for _, it := range items {
			if err := c.push(it, emit); err != nil {
				b.Fatal(err)
			}
		}
		if err := c.flush(emit); err != nil {
			b.Fatal(err)
		}
		if chunks != 1 {
			b.Fatalf("%d chunks, want 1", chunks)
		}
	}
}
