package pool

import (
	"crypto/rand"
	"encoding/hex"
)

// tokenSource makes the random per-message tokens of task messages
// (wire.HdrToken, also the tail of the message id): 64 bits each, from a
// buffer refilled from crypto/rand 4 KiB at a time, so a message costs a
// slice, not a system call. Not safe for concurrent use: the publish loop
// owns it.
type tokenSource struct {
	buf []byte
}

func (t *tokenSource) next() string {
	if len(t.buf) < 8 {
		t.buf = make([]byte, 4096)
		_, _ = rand.Read(t.buf) // never fails (crypto/rand)
	}
	tok := hex.EncodeToString(t.buf[:8])
	t.buf = t.buf[8:]
	return tok
}
