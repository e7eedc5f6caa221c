package worker

import "sync"

// outBufs recycles the buffers result messages are built in. A buffer is
// kept until the caller's receipt for its message (confirm.go resends from
// it); after that it builds the next message instead of becoming garbage:
// a Map's result messages are up to 256 KiB each, and were a fifth of a
// worker's allocation (BENCHMARKS.md, profile findings).
type outBufs struct{ pool sync.Pool }

// maxRecycled bounds what is kept: a result near the broker's max payload
// is rare and need not stay in memory.
const maxRecycled = 1 << 20

// get returns an empty buffer with room for n bytes.
func (o *outBufs) get(n int) []byte {
	if p, _ := o.pool.Get().(*[]byte); p != nil && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, n)
}

// put hands back a buffer nothing refers to any more.
func (o *outBufs) put(b []byte) {
	if b == nil || cap(b) > maxRecycled {
		return
	}
	b = b[:0]
	o.pool.Put(&b)
}
