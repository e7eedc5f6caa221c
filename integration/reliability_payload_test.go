package integration

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Row 8: an argument or a result larger than the broker's max payload is
// carried: stored beside the broker (the pool's object store bucket on an
// external broker), the message carrying a reference. Beyond what the
// store can hold, the call fails at once with a clear error; never a
// timeout. Afterwards the bucket holds nothing: JetStream's storage is back
// where it was.

const smallPayload = 64 << 10

func TestRow08OversizedPayloads(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{MaxPayload: smallPayload})
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(2))
	pids := workerPIDs(p)
	ctx := testutil.Ctx(t, 60*time.Second)

	t.Run("argument/Apply", func(t *testing.T) {
		n, err := pool.Apply(ctx, p, size, make([]byte, 100_000))
		if err != nil || n != 100_000 {
			t.Fatalf("Apply(100,000 bytes) = %d, %v", n, err)
		}
	})
	t.Run("argument/Map item", func(t *testing.T) {
		items := [][]byte{make([]byte, 10), make([]byte, 200_000), make([]byte, 10)}
		out, err := pool.Map(ctx, p, size, items, pool.WithChunksize(1))
		if err != nil || !slices.Equal(out, []int{10, 200_000, 10}) {
			t.Fatalf("Map with an item over the limit = %v, %v", out, err)
		}
	})
	t.Run("argument/Map chunk", func(t *testing.T) {
		// Every item fits, their chunk does not: kept whole, stored.
		items := make([][]byte, 10)
		for i := range items {
			items[i] = make([]byte, 20_000+i)
		}
		out, err := pool.Map(ctx, p, size, items, pool.WithChunksize(10))
		if err != nil || len(out) != 10 || out[9] != 20_009 {
			t.Fatalf("Map with a chunk over the limit = %v, %v", out, err)
		}
	})
	t.Run("result", func(t *testing.T) {
		s, err := pool.Apply(ctx, p, bigResult, 100_000)
		if err != nil || len(s) != 100_000 {
			t.Fatalf("result over the limit: %d bytes, %v", len(s), err)
		}
	})
	t.Run("result in a Map", func(t *testing.T) {
		out, err := pool.Map(ctx, p, bigResult, []int{10, 100_000, 10}, pool.WithChunksize(1))
		if err != nil || len(out[1]) != 100_000 || len(out[2]) != 10 {
			t.Fatalf("Map with a result over the limit: %v", err)
		}
	})
	// I4: no worker died or was replaced, nothing is left pending.
	if now := workerPIDs(p); !slices.Equal(now, pids) {
		t.Fatalf("workers %v became %v", pids, now)
	}
	if st := p.Stats(); st.Pending != 0 || st.WorkersLost != 0 {
		t.Fatalf("stats after row 8: %+v", st)
	}
	waitBucketEmpty(t, p.Conn(), blob.Bucket(p.Name()))
}

// TestRow08BeyondTheStore: a value larger than the broker's JetStream can
// hold fails at once with an error that names its size and the store's
// refusal, and the pool goes on.
func TestRow08BeyondTheStore(t *testing.T) {
	b := testutil.StartBroker(t, broker.Config{MaxMemory: 8 << 20})
	p := externalPool(t, b.ClientURL(), b.User(), b.Password(), pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 60*time.Second)
	start := time.Now()
	_, err := pool.Apply(ctx, p, size, make([]byte, 16<<20))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a value the store cannot hold took %s to fail", d)
	}
	if !errors.Is(err, pool.ErrTooLarge) || !strings.Contains(err.Error(), "1677722") || !strings.Contains(err.Error(), "insufficient resources") {
		t.Fatalf("Apply(16 MiB) over an 8 MiB store: err = %v, want ErrTooLarge naming the size and the store's refusal", err)
	}
	if n, err := pool.Apply(ctx, p, size, make([]byte, 1<<20)); err != nil || n != 1<<20 {
		t.Fatalf("after it, Apply(1 MiB) = %d, %v", n, err)
	}
	waitBucketEmpty(t, p.Conn(), blob.Bucket(p.Name()))
}

// waitBucketEmpty waits until the pool's value bucket holds no bytes:
// every stored value was deleted, tombstones included.
func waitBucketEmpty(t *testing.T, nc *nats.Conn, bucket string) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Deletes follow results; on a loaded cluster they may take a while.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, "OBJ_"+bucket)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = st.Info(ctx)
		}
		cancel()
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return // never made: nothing was stored
		}
		if err == nil && info.State.Bytes == 0 && info.State.Msgs == 0 {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("bucket %s: %v", bucket, err)
			}
			t.Fatalf("bucket %s still holds %+v", bucket, info.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
