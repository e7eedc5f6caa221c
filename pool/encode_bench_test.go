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
	p := &Pool{d: &dispatcher{maxPayload: 8 << 20}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeChunk(p, "bench", items); err != nil {
			b.Fatal(err)
		}
	}
}
