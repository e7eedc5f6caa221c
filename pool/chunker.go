package pool

import (
	"encoding/binary"
	"fmt"

	"github.com/procpool/procpool/internal/wire"
)

// chunker encodes a Map's items into chunks (tasks) straight into their
// wire form: at most size items each, and, with a byte budget, a chunk is
// cut before it would grow past maxBytes. Python's item rule alone would
// give a million 100-byte strings 12 MB chunks. An item larger than the
// budget goes alone, as it was encoded (it is stored, not sent inside a
// message): copying it into a chunk buffer would be a pass over it for
// nothing.
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

// emitFunc takes a finished chunk and the input index of its first item.
type emitFunc func(c encodedChunk, first int) error

// push encodes v and emits the chunks it completes: the one being filled
// when v does not fit in it or fills it, and v alone when it is larger
// than the byte budget.
func (c *chunker[A]) push(v A, emit emitFunc) error {
	if raw, ok := wire.Raw(v); ok && c.maxBytes > 0 && len(raw) > c.maxBytes {
		// A large string or []byte is its own encoding: stored straight
		// from the caller's memory, not copied first.
		c.next++
		return c.alone(raw, emit)
	}
	var err error
	c.item, err = wire.AppendEncode(c.item[:0], v)
	if err != nil {
		return fmt.Errorf("%w: %s item %d: %w", ErrInvalidArgument, c.name, c.next, err)
	}
	c.next++
	if c.maxBytes > 0 && len(c.item) > c.maxBytes {
		item := c.item
		c.item = nil // handed over: the next item encodes into a new scratch
		return c.alone(item, emit)
	}
	if c.n > 0 && c.maxBytes > 0 && len(c.buf)-wire.MaxOneTaskPrefix+binary.MaxVarintLen32+len(c.item) > c.maxBytes {
		if err := c.flush(emit); err != nil {
			return err
		}
	}
	c.append()
	if c.n >= c.size {
		return c.flush(emit)
	}
	return nil
}

// alone emits the chunk being filled, then item as a chunk of its own.
func (c *chunker[A]) alone(item []byte, emit emitFunc) error {
	if err := c.flush(emit); err != nil {
		return err
	}
	first := c.first
	c.first++
	head := binary.AppendUvarint(nil, uint64(len(item)))
	return emit(encodedChunk{parts: [][]byte{head, item}, n: 1}, first)
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

// flush emits the chunk being filled, if it has items.
func (c *chunker[A]) flush(emit emitFunc) error {
	if c.n == 0 {
		return nil
	}
	ch := encodedChunk{buf: c.buf[wire.MaxOneTaskPrefix:], n: c.n, frame: c.buf}
	first := c.first
	c.first += c.n
	c.buf, c.n = nil, 0
	return emit(ch, first)
}
