package blob

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
)

// eachChunk cuts the concatenation of parts into chunks of the size
// asked, whatever the parts' boundaries.
func TestEachChunk(t *testing.T) {
	for _, parts := range [][][]byte{
		{[]byte("abcdefghij")},
		{[]byte("ab"), []byte("cdefg"), nil, []byte("hij")},
		{[]byte("abc"), []byte("defghijk"), []byte("l")},
		{},
	} {
		var got [][]byte
		err := eachChunk(parts, 4, func(c []byte) error {
			got = append(got, bytes.Clone(c))
			return nil
		})
		want := bytes.Join(parts, nil)
		if err != nil || !bytes.Equal(bytes.Join(got, nil), want) {
			t.Fatalf("parts %q: chunks %q, %v", parts, got, err)
		}
		for i, c := range got {
			if len(c) != 4 && i != len(got)-1 || len(c) == 0 || len(c) > 4 {
				t.Fatalf("parts %q: chunk %d is %q", parts, i, c)
			}
		}
	}
}

// Put's objects (no directory: the bucket) are what ObjectStore.Get reads (it checks their
// digest), Delete removes them whole, and it leaves no goroutine behind.
func TestPutObject(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	nc, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	v := NewValues(js, "put_object_test", ObjectsConfig{})
	defer v.Close()
	o, err := v.objects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o.chunk = 1000 // so that parts span chunks
	parts := [][]byte{bytes.Repeat([]byte("a"), 700), bytes.Repeat([]byte("bc"), 1250), nil, []byte("d")}
	for range 50 {
		ref, err := v.Put(ctx, "", "t", parts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Get(ctx, ref)
		if err != nil || !bytes.Equal(got, bytes.Join(parts, nil)) {
			t.Fatalf("Get(%v) = %d bytes, %v", ref, len(got), err)
		}
		if err := v.Delete(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	info, err := o.stream.Info(ctx)
	if err != nil || info.State.Msgs != 0 {
		t.Fatalf("bucket after deleting every object: %+v, %v", info.State, err)
	}
	buf := make([]byte, 1<<20)
	if stack := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stack, "resetPendingAcksOnReconnect") {
		t.Fatalf("Put left an asynchronous publisher behind:\n%s", stack)
	}
}

// TestPublishRetryableErrors: a chunk publish answered "duplicate message
// id is in process" (409, 10158: the first try is still being stored, as
// in a leader change) is published again, not failed: the chaos run
// (issue 18) saw a large argument fail that way. A refusal (a full stream,
// a permission) is not retried; a lost acknowledgement is.
func TestPublishRetryableErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&jetstream.APIError{Code: 409, ErrorCode: errDuplicateInProcess, Description: "duplicate message id is in process"}, true},
		{fmt.Errorf("wrapped: %w", &jetstream.APIError{Code: 409, ErrorCode: errDuplicateInProcess}), true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum messages exceeded"}, false},
		{&jetstream.APIError{Code: 403, ErrorCode: 10076, Description: "permission denied"}, false},
		{context.DeadlineExceeded, true},
		{nats.ErrTimeout, true},
	} {
		if got := retryable(c.err); got != c.want {
			t.Errorf("retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
