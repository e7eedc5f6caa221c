package blob

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// putSync stores parts as an object without jetstream's ObjectStore.Put.
// That Put (nats.go v1.55) makes a JetStream context of its own whose
// first chunk starts a goroutine listening for reconnects, and cleans the
// context up when it returns: a goroutine that had not run by then waits
// on a nil channel forever, one leaked goroutine per unlucky Put (seen
// under load, once in a few hundred). putSync writes the same chunk and
// metadata messages, which ObjectStore.Get reads and checks by their
// digest, with synchronous publishes: it starts nothing.
//
// putSync publishes parts as the chunks of a new object, then its
// metadata; on failure it purges the chunks it published.
func (o *Objects) putSync(ctx context.Context, js jetstream.JetStream, prefix string, parts ...[]byte) (wire.Ref, error) {
	ref := wire.Ref{Kind: wire.RefObject, Name: prefix + "-" + randomToken(12), Size: size(parts)}
	id := randomToken(11) // the chunks' subject token, as ObjectStore.Put's NUID
	chunkSubj := "$O." + o.bucket + ".C." + id
	h := sha256.New()
	chunks := 0
	fail := func(err error) (wire.Ref, error) {
		_ = o.stream.Purge(context.WithoutCancel(ctx), jetstream.WithPurgeSubject(chunkSubj))
		return ref, fmt.Errorf("procpool: store value in %s: %w", o.bucket, err)
	}
	err := eachChunk(parts, int(o.chunk), func(c []byte) error {
		h.Write(c)
		chunks++
		m := nats.NewMsg(chunkSubj)
		m.Data = c
		m.Header.Set(jetstream.MsgIDHeader, id+"."+strconv.Itoa(chunks))
		return publishAcked(ctx, js, m)
	})
	if err != nil {
		return fail(err)
	}
	info := jetstream.ObjectInfo{
		ObjectMeta: jetstream.ObjectMeta{Name: ref.Name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: o.chunk}},
		Bucket:     o.bucket, NUID: id, Size: uint64(ref.Size), Chunks: uint32(chunks),
		Digest: jetstream.GetObjectDigestValue(h),
	}
	data, err := json.Marshal(&info)
	if err != nil {
		return fail(err)
	}
	meta := nats.NewMsg("$O." + o.bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(ref.Name)))
	meta.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	meta.Data = data
	meta.Header.Set(jetstream.MsgIDHeader, id+".meta")
	if err := publishAcked(ctx, js, meta); err != nil {
		return fail(err)
	}
	return ref, nil
}

// chunkAckWait bounds the wait for one chunk's acknowledgement: a reply
// lost with a dropped connection must not hold the put until its ctx
// ends. The chunk is then published again under the same message id,
// which the stream stores once.
const chunkAckWait = 5 * time.Second

// publishAcked publishes m until JetStream acknowledges it or ctx ends.
func publishAcked(ctx context.Context, js jetstream.JetStream, m *nats.Msg) error {
	for {
		actx, cancel := context.WithTimeout(ctx, chunkAckWait)
		_, err := js.PublishMsg(actx, m)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !retryable(err) {
			return err // refused (full, forbidden): trying again will not help
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// errDuplicateInProcess is JetStream's JSStreamDuplicateMessageConflict
// (409): a message with this id is still being stored on the cluster
// (the first publish, whose acknowledgement was lost or late, as around a
// leader change). It is no refusal: published again a moment later, the
// message is acknowledged (as a duplicate once the first is stored).
const errDuplicateInProcess = 10158

// retryable says whether a publish that failed with err may succeed if
// made again with the same message id: every error but a refusal from
// JetStream, and that one conflict (seen as a large argument's spurious
// failure by the chaos run, issue 18).
func retryable(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return true
	}
	return api.ErrorCode == errDuplicateInProcess
}

// eachChunk calls f with the concatenation of parts cut into chunks of
// size bytes (the last may be shorter): slices of parts where a chunk
// lies within one, a copy where it spans several.
func eachChunk(parts [][]byte, size int, f func([]byte) error) error {
	var buf []byte // a chunk being gathered across parts
	for _, p := range parts {
		for len(p) > 0 {
			if len(buf) == 0 && len(p) >= size {
				if err := f(p[:size]); err != nil {
					return err
				}
				p = p[size:]
				continue
			}
			if buf == nil {
				buf = make([]byte, 0, size)
			}
			n := min(size-len(buf), len(p))
			buf, p = append(buf, p[:n]...), p[n:]
			if len(buf) == size {
				if err := f(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		return f(buf)
	}
	return nil
}
