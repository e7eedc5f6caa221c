package pool

import (
	"context"
	"fmt"

	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/wire"
)

// A Start argument larger than the inline limit does not travel in the
// child's config (JSON on its stdin, where bytes take a third more as
// base64, and which the child reads up to 1 MiB): it is stored, in this
// pool's value directory when there is one (the child runs on this host,
// whatever the broker), else in the pool's bucket, and the config carries
// the reference. The child reads it; the parent deletes it once the child
// has ended, however it ended. The result comes back on the status pipe,
// raw (internal/supervise).

// storeProcessArg stores a Start argument too large for the child's
// config and returns the reference; nil means it travels inline.
func (p *Pool) storeProcessArg(ctx context.Context, task string, payload []byte) (*wire.Ref, error) {
	if len(payload) <= p.d.inline {
		return nil, nil
	}
	// The child runs on this host, whatever the broker: the value
	// directory if there is one and it has room, else the bucket.
	dir := ""
	if p.d.vdir != nil {
		dir = p.d.vdir.Name()
	}
	ref, err := p.d.vals.Put(ctx, dir, "p", payload)
	if blob.NoRoom(err) {
		return nil, fmt.Errorf("%w: %s: the value store has no room for a %d-byte argument: %w", ErrTooLarge, task, len(payload), err)
	}
	if err != nil {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: start %s: store a %d-byte argument: %w", task, len(payload), err))
	}
	return &ref, nil
}

// releaseProcessArg deletes a stored Start argument (nil: none).
func (p *Pool) releaseProcessArg(ref *wire.Ref) {
	if ref != nil {
		p.d.vals.Release(*ref)
	}
}
