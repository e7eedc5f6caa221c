package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/procpool/procpool/internal/wire"
)

// chunker encodes a Map's items into chunks (tasks) straight into their
// wire form: at most size items each, and, with a byte budget, a chunk is
// cut before it would grow past maxBytes (an item larger than that goes
// alone, and is stored rather than sent inside a message). Python's item
// rule alone would give a million 100-byte strings 12 MB chunks.
type chunker[A any] struct {
	name     string
	size     int // items per chunk at most
	maxBytes int // 0: no byte budget
	hint     int // items expected in all, for the first buffer's size; 0: unknown

	buf   []byte // the chunk being filled, after MaxOneTaskPrefix bytes of room
	n     int    // its items
	first int    // index of its first item in the input
	next  int    // index of the next item pushed
	item  []byte // scratch for one item's encoding
}

// push encodes v. When v does not fit in the chunk being filled, that
// chunk is returned (ok) and v starts the next one; when v fills it
// (size items), it is returned with v in it.
func (c *chunker[A]) push(v A) (ready encodedChunk, first int, ok bool, err error) {
	c.item, err = wire.AppendEncode(c.item[:0], v)
	if err != nil {
		return ready, 0, false, fmt.Errorf("%w: %s item %d: %w", ErrInvalidArgument, c.name, c.next, err)
	}
	c.next++
	if c.n > 0 && c.maxBytes > 0 && len(c.buf)-wire.MaxOneTaskPrefix+binary.MaxVarintLen32+len(c.item) > c.maxBytes {
		ready, first, ok = c.flush()
	}
	c.append()
	if c.n >= c.size {
		if ok { // cannot happen with size >= 1: a chunk just started holds one item
			panic("chunker: two chunks ready at once")
		}
		ready, first, ok = c.flush()
	}
	return ready, first, ok, nil
}

// append adds the encoded c.item to the chunk being filled.
func (c *chunker[A]) append() {
	if c.buf == nil {
		// Items of a chunk tend to be alike: room for the chunk at the
		// first one's size, and a quarter more, in one allocation.
		per := len(c.item) + binary.MaxVarintLen32
		want := per * c.size * 5 / 4
		if c.hint > 0 {
			want = min(want, per*(c.hint-c.first)*5/4)
		}
		if c.maxBytes > 0 {
			want = min(want, c.maxBytes+per)
		}
		c.buf = make([]byte, wire.MaxOneTaskPrefix, wire.MaxOneTaskPrefix+min(max(want, per), maxTaskPackBytes+per))
	}
	c.buf = wire.AppendItem(c.buf, c.item)
	c.n++
	if cap(c.item) > 1<<20 {
		c.item = nil // a large item's scratch is not kept for the small ones
	}
}

// flush returns the chunk being filled, if it has items.
func (c *chunker[A]) flush() (encodedChunk, int, bool) {
	if c.n == 0 {
		return encodedChunk{}, 0, false
	}
	ch := encodedChunk{buf: c.buf[wire.MaxOneTaskPrefix:], n: c.n, frame: c.buf}
	first := c.first
	c.first += c.n
	c.buf, c.n = nil, 0
	return ch, first, true
}
