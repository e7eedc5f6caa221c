package wire

import (
	"encoding/binary"
	"fmt"
	"regexp"
)

// A value too large to travel inside a message (a task's items, a task's
// results, a queue item) is stored beside the broker and the message
// carries a Ref to it (internal/blob). The reader fetches it, and the
// value's owner deletes it once its reader is done.
//
//	ref: kind(1 byte) name(bytes) size(uvarint)
type Ref struct {
	Kind byte   // RefFile or RefObject
	Name string // file: "<dir>/<file>" under the host's value root; object: the object's name in its bucket
	Size int64  // the value's length in bytes
}

// Kinds of Ref.
const (
	RefFile   = 'f' // a file in a caller's value directory on this host (shared memory where the OS has it)
	RefObject = 'o' // an object in the pool's JetStream object store
)

// refNameRE bounds what a Ref may name: a file ref is one directory level
// below the value root, never a path of the sender's choosing (no "..",
// no absolute path); an object name is a plain token.
var (
	fileRefRE   = regexp.MustCompile(`^procpool-[A-Za-z0-9_-]{1,100}/[A-Za-z0-9_-]{1,100}$`)
	objectRefRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)
)

// Valid reports whether r names a value a reader may fetch.
func (r Ref) Valid() error {
	switch {
	case r.Size < 0:
		return fmt.Errorf("%w: ref size %d", ErrMalformed, r.Size)
	case r.Kind == RefFile && fileRefRE.MatchString(r.Name):
		return nil
	case r.Kind == RefObject && objectRefRE.MatchString(r.Name):
		return nil
	}
	return fmt.Errorf("%w: ref %q of kind %q", ErrMalformed, r.Name, r.Kind)
}

// String is the ref in words, for errors.
func (r Ref) String() string {
	kind := "object"
	if r.Kind == RefFile {
		kind = "file"
	}
	return fmt.Sprintf("%s %s (%d bytes)", kind, r.Name, r.Size)
}

// AppendRef appends r's encoding.
func AppendRef(b []byte, r *Ref) []byte {
	b = append(b, r.Kind)
	b = appendBytes(b, []byte(r.Name))
	return binary.AppendUvarint(b, uint64(r.Size))
}

// DecodeRef decodes a message body that is one Ref and nothing else: a
// queue or pipe item that was stored. The ref is checked with Valid.
func DecodeRef(b []byte) (Ref, error) {
	d := decoder{b: b}
	r := d.ref()
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes after ref")
	}
	if d.err != nil {
		return Ref{}, d.err
	}
	return *r, nil
}

func (d *decoder) ref() *Ref {
	r := &Ref{Kind: d.byte()}
	r.Name = string(d.bytes())
	size := d.uvarint()
	if d.err != nil {
		return nil
	}
	if size > 1<<50 {
		d.fail(fmt.Sprintf("ref size %d", size))
		return nil
	}
	r.Size = int64(size)
	if err := r.Valid(); err != nil {
		d.fail(err.Error())
		return nil
	}
	return r
}

// MaxMessageBytes is the most a task message packs and an item set
// carries inline: larger messages pipeline worse between caller, broker
// and workers.
const MaxMessageBytes = 256 << 10

// MsgHeadroom is left under the broker's max payload for headers and the
// envelope around a message's items.
const MsgHeadroom = 4 << 10

// InlineLimit is the largest task or result carried inside a message
// under a broker max payload of maxPayload: MaxMessageBytes, less under a
// small max payload. Anything larger is stored.
func InlineLimit(maxPayload int) int {
	return max(min(MaxMessageBytes, maxPayload-MsgHeadroom), 1<<10)
}

// Len is the number of items of the task, whether inline or stored.
func (t *Task) Len() int {
	if t.Ref != nil || t.Items == nil {
		return t.NItems
	}
	return len(t.Items)
}

// SplitItems cuts n length-prefixed items (as AppendItem writes them) out
// of b, a stored task's or result's value, appending them to dst. The
// items alias b.
func SplitItems(dst [][]byte, b []byte, n int) ([][]byte, error) {
	for i := range n {
		it, rest, ok := splitItem(b)
		if !ok {
			return dst, fmt.Errorf("%w: stored value: item %d of %d cut short", ErrMalformed, i, n)
		}
		dst = append(dst, it)
		b = rest
	}
	if len(b) != 0 {
		return dst, fmt.Errorf("%w: stored value: %d bytes after its %d items", ErrMalformed, len(b), n)
	}
	return dst, nil
}
