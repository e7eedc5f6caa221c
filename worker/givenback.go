package worker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// Give-back records. Tasks a worker hands back (fairness, recycling, a
// hard timeout, a value store out of reach) go on in new messages that
// count their attempts on their own. Should the original message then be
// delivered again (its worker lost its connection or died before acking
// it), splitting all of its tasks would start a second lineage of those
// handed back, and a task could run more than MaxAttempts times
// (docs/reliability.md, I3). So before it publishes a give-back, the
// worker records it in the pool's key-value bucket (wire.SyncBucket),
// under a key of the original message: which of its tasks went, in which
// message id. A redelivery of a message of several tasks reads the record,
// publishes those parts again with the same ids (JetStream's duplicate
// window drops them if they were stored, and stores them if the worker
// died between the record and the publish: nothing is lost) and splits
// only the other tasks. A first delivery, and a message that gives nothing
// back, never touch the bucket.
const (
	// recordKind is the first token of a record's key.
	recordKind = "giveback"
	// recordTTL is how long a record lives: the task stream's duplicate
	// window (wire.EnsureStream). Past it, publishing a part again would
	// queue it twice, as splitting the whole message would.
	recordTTL = 2 * time.Minute
	// recordWrite bounds the writing of a record.
	recordWrite = 2 * time.Second
	// recordRead bounds the look-up of a record on a redelivery, retries
	// included; past it the message is split whole, as before records.
	recordRead = 3 * time.Second
)

// span is a range [lo, hi) of a message's task indices, as it arrived.
type span struct{ lo, hi int }

// part is one give-back message: the tasks of span, published with the
// message id <msgID>.<tag>.0.
type part struct {
	tag string
	span
}

// records opens the bucket of give-back records once per executor.
type records struct {
	mu sync.Mutex
	kv jetstream.KeyValue
}

// openRecords returns the bucket, making it if create is set and it does not
// exist. Without create, a missing bucket is jetstream.ErrBucketNotFound.
func (rt *executor) openRecords(ctx context.Context, create bool) (jetstream.KeyValue, error) {
	r := &rt.recs
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kv != nil {
		return r.kv, nil
	}
	kv, err := rt.js.KeyValue(ctx, wire.SyncBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && create {
		kv, err = rt.js.CreateKeyValue(ctx, wire.SyncBucketConfig(wire.DefaultReplicas(rt.nc), false))
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = rt.js.KeyValue(ctx, wire.SyncBucket) // made by another process meanwhile
		}
	}
	if err != nil {
		return nil, err
	}
	r.kv = kv
	return kv, nil
}

// recordKey is the key of j's record: a hash of the message's place in
// its stream and its id, since a pool's name may hold characters a key
// may not.
func (j *job) recordKey() string {
	h := fnv.New128a()
	h.Write([]byte(j.stream))
	h.Write([]byte{0})
	h.Write(strconv.AppendUint(nil, j.seq, 10))
	h.Write([]byte{0})
	h.Write([]byte(j.msgID))
	return recordKind + "." + hex.EncodeToString(h.Sum(nil))
}

// record adds parts to j's record and writes it, before they are
// published, trying for up to timeout: the record holds every part of the
// message handed back so far, those of earlier deliveries included
// (j.parts, from the look-up). Writes are serialized by j.recMu, so the
// last one holds them all.
func (rt *executor) record(j *job, timeout time.Duration, parts ...part) error {
	j.recMu.Lock()
	defer j.recMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	all := append(j.parts[:len(j.parts):len(j.parts)], parts...)
	m := &nats.Msg{Subject: "$KV." + wire.SyncBucket + "." + j.recordKey(), Data: encodeParts(all)}
	for {
		// Each try bounded: a request sent while the broker was away may
		// never be answered.
		tctx, tcancel := context.WithTimeout(ctx, time.Second)
		_, err := rt.openRecords(tctx, true)
		if err == nil {
			_, err = rt.js.PublishMsg(tctx, m, jetstream.WithMsgTTL(recordTTL))
		}
		tcancel()
		if err == nil {
			j.parts = all
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, nats.ErrConnectionClosed) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// unrecord takes parts that could not be published out of j's record, as
// the next write will have it: their tasks run here (j.returned), and
// another give-back may hand some of them back under another id. Until
// that write the stored record still names them; a redelivery then
// publishes them again counting this delivery, as a split would.
func (j *job) unrecord(parts ...part) {
	j.recMu.Lock()
	defer j.recMu.Unlock()
	kept := j.parts[:0:0]
	for _, p := range j.parts {
		if !slices.Contains(parts, p) {
			kept = append(kept, p)
		}
	}
	j.parts = kept
}

// giveBackRecorded runs between a give-back's record and its publish; a
// test replaces it to stop a worker there.
var giveBackRecorded = func() {}

// givenBack reads the record of j's message: the parts an earlier
// delivery handed back, none if there is no record. It retries for
// recordRead; an error says the record could not be read.
func (rt *executor) givenBack(j *job) ([]part, error) {
	ctx, cancel := context.WithTimeout(context.Background(), recordRead)
	defer cancel()
	key := j.recordKey()
	for {
		tctx, tcancel := context.WithTimeout(ctx, time.Second)
		kv, err := rt.openRecords(tctx, false)
		if err == nil {
			var e jetstream.KeyValueEntry
			if e, err = kv.Get(tctx, key); err == nil {
				tcancel()
				return decodeParts(e.Value(), len(j.tm.Tasks))
			}
		}
		tcancel()
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// encodeParts writes parts as "tag:lo:hi" separated by spaces.
func encodeParts(parts []part) []byte {
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, p.tag...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(p.lo), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(p.hi), 10)
	}
	return b
}

// decodeParts reads what encodeParts wrote, for a message of n tasks.
func decodeParts(b []byte, n int) ([]part, error) {
	var parts []part
	for _, f := range strings.Fields(string(b)) {
		tag, rest, ok1 := strings.Cut(f, ":")
		los, his, ok2 := strings.Cut(rest, ":")
		lo, err1 := strconv.Atoi(los)
		hi, err2 := strconv.Atoi(his)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || !validTag(tag) || lo < 0 || lo >= hi || hi > n {
			return nil, fmt.Errorf("give-back record %q does not fit a message of %d tasks", b, n)
		}
		parts = append(parts, part{tag, span{lo, hi}})
	}
	return parts, nil
}

// validTag reports whether tag is a letter and digits, as handBack,
// hardTimeout and retryUnavailable make them.
func validTag(tag string) bool {
	if len(tag) < 2 || tag[0] < 'a' || tag[0] > 'z' {
		return false
	}
	for _, c := range []byte(tag[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
