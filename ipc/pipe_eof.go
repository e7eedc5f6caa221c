package ipc

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/wire"
)

// The end-of-stream marker on an end that several handles read. The
// marker is never acknowledged: a reader that meets it gives it back, so
// that every reader of the end meets it, and each remembers it (peerEOF)
// and fetches no more. And a reader meets it only once nothing sent
// before it is still out: a value another handle holds, or the rest of a
// packed message it handed back, reaches a reader before the end of
// stream does. The pipe's stream keeps a message until its reader
// acknowledges it (interest retention), so "nothing before it is out"
// is "the marker is the first message on its subject".
const (
	// eofFirstWait is how long a marker met too early waits before it is
	// delivered again; each wait after it is twice as long, up to
	// eofMaxWait. The usual early meeting is a reader's own last
	// acknowledgement, still on its way: one short wait.
	eofFirstWait = 20 * time.Millisecond
	eofMaxWait   = time.Second
)

// meetEOF handles the marker m that Recv fetched; p.cur is locked. It
// reports whether Recv returns io.EOF now; if not, Recv fetches again.
func (p *PipeEnd[T]) meetEOF(ctx context.Context, m *nats.Msg) (bool, error) {
	md, err := m.Metadata()
	if err != nil {
		p.ack(m) // not from the stream: cannot be checked, nor kept
		return p.eofNow(), nil
	}
	var first *jetstream.RawStreamMsg
	err = wire.APICall(ctx, p.js, func(ctx context.Context) error {
		s, err := p.js.Stream(ctx, p.stream)
		if err == nil {
			first, err = s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(m.Subject))
		}
		return err
	})
	switch {
	case err != nil:
		p.pull.nak(m)
		return false, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: end of stream: %w", p.Name(), err))
	case first.Sequence == md.Sequence.Stream:
		p.pull.nak(m) // for the other readers of this end
		return p.eofNow(), nil
	case first.Header.Get(pipeEOFHeader) != "":
		// An earlier marker, from another handle of the sending end:
		// that one stands for both.
		p.ack(m)
		return false, nil
	default:
		// A value sent before it is still out: wait for it.
		_ = p.nc.Publish(m.Reply, wire.NakDelay(p.eofWait))
		p.eofWait = min(2*p.eofWait, eofMaxWait)
		return false, nil
	}
}

// eofNow records that this end met the end of stream, and says so.
func (p *PipeEnd[T]) eofNow() bool {
	p.mu.Lock()
	p.peerEOF = true
	p.mu.Unlock()
	return true
}
