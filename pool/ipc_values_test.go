package pool_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// Queue items, pipe values and Start arguments and results too large for
// a message, between the parent and worker processes.

// bigArg tells a task below which queue or pipe end to use, and how many
// items of what size.
type bigArg struct {
	Name string `json:"name"`
	N    int    `json:"n"`
	Size int    `json:"size"`
	From int    `json:"from"` // the first item's index, for patternOf
}

// holdQueue is where holdBytes waits for its go-ahead.
const holdQueue = "ipcv-hold"

var (
	// queuePutBig puts N items of Size bytes on the queue Name.
	queuePutBig = worker.Register("test.ipcv.queue-put", func(ctx context.Context, a bigArg) (int, error) {
		q, err := ipc.NewQueue[[]byte](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return 0, err
		}
		for i := range a.N {
			if err := q.Put(ctx, patternOf(a.From+i, a.Size)); err != nil {
				return i, err
			}
		}
		return a.N, q.Close() // Close waits for the puts to be stored
	})
	// queueGetBig gets N items from the queue Name and returns their
	// digests.
	queueGetBig = worker.Register("test.ipcv.queue-get", func(ctx context.Context, a bigArg) ([]string, error) {
		q, err := ipc.NewQueue[[]byte](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return nil, err
		}
		defer q.Close()
		var sums []string
		for range a.N {
			v, err := q.Get(ctx)
			if err != nil {
				return sums, err
			}
			sums = append(sums, digest(v))
		}
		return sums, nil
	})
	// pipeEchoBig sends back each of N values it receives on the pipe end
	// Name, then closes the end.
	pipeEchoBig = worker.Register("test.ipcv.pipe-echo", func(ctx context.Context, a bigArg) (int, error) {
		end, err := ipc.OpenPipe[[]byte](ctx, worker.Conn(ctx), a.Name)
		if err != nil {
			return 0, err
		}
		for i := range a.N {
			v, err := end.Recv(ctx)
			if err != nil {
				return i, err
			}
			if err := end.Send(ctx, v); err != nil {
				return i, err
			}
		}
		return a.N, end.Close()
	})
	// holdBytes returns its argument's length once an item comes on
	// holdQueue.
	holdBytes = worker.Register("test.ipcv.hold", func(ctx context.Context, b []byte) (int, error) {
		q, err := ipc.NewQueue[string](ctx, worker.Conn(ctx), holdQueue)
		if err != nil {
			return 0, err
		}
		defer q.Close()
		if _, err := q.Get(ctx); err != nil {
			return 0, err
		}
		return len(b), nil
	})
)

// patternOf is n bytes of a pattern that depends on i and n.
func patternOf(i, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(k*131 + i*17 + k>>11)
	}
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// waitStoreEmpty waits until the object store bucket, which must exist
// (something was stored in it), holds nothing: every stored value was
// deleted, tombstones included.
func waitStoreEmpty(t *testing.T, nc *nats.Conn, bucket string) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := js.Stream(ctx, "OBJ_"+bucket)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = s.Info(ctx)
		}
		cancel()
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Fatalf("bucket %s does not exist: nothing was stored in it", bucket)
		}
		if err == nil && info.State.Msgs == 0 && info.State.Bytes == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bucket %s still holds %+v (err %v)", bucket, info.State, err)
		}
		time.Sleep(20 * time.Millisecond) // polling, bounded by the deadline
	}
}

// storeBytes is how many bytes bucket holds (0 if it does not exist).
func storeBytes(t *testing.T, nc *nats.Conn, bucket string) uint64 {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(testutil.Ctx(t, 5*time.Second), "OBJ_"+bucket)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(testutil.Ctx(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Bytes
}

// 5 MiB items go through a queue from a worker task to the parent and
// from the parent to a worker task, byte for byte and in order; each is
// deleted once taken.
func TestQueueLargeItemsBetweenProcesses(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 120*time.Second)
	const name, n, size = "ipcv-large", 4, 5 << 20
	bucket := "PROCPOOL_Q_" + name
	t.Cleanup(func() { _ = ipc.DeleteQueue(context.Background(), p.Conn(), name) })

	if got, err := pool.Apply(ctx, p, queuePutBig, bigArg{Name: name, N: n, Size: size}); err != nil || got != n {
		t.Fatalf("worker put %d, %v; want %d", got, err, n)
	}
	if b := storeBytes(t, p.Conn(), bucket); b < n*size {
		t.Fatalf("bucket %s holds %d bytes after %d puts of %d: the items were not stored", bucket, b, n, size)
	}
	get, err := ipc.NewQueue[[]byte](ctx, p.Conn(), name)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		v, err := get.Get(ctx)
		if err != nil {
			t.Fatalf("parent Get #%d: %v", i, err)
		}
		if !bytes.Equal(v, patternOf(i, size)) {
			t.Fatalf("parent Get #%d: %d bytes, not item %d", i, len(v), i)
		}
	}
	// Closed before the parent puts: a Get past the last item may have
	// left a pull request that would take the worker's items.
	if err := get.Close(); err != nil {
		t.Fatal(err)
	}
	waitStoreEmpty(t, p.Conn(), bucket)

	put, err := ipc.NewQueue[[]byte](ctx, p.Conn(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = put.Close() })
	var want []string
	for i := range n {
		item := patternOf(100+i, size)
		want = append(want, digest(item))
		if err := put.Put(ctx, item); err != nil {
			t.Fatalf("parent Put #%d: %v", i, err)
		}
	}
	if err := put.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sums, err := pool.Apply(ctx, p, queueGetBig, bigArg{Name: name, N: n})
	if err != nil {
		t.Fatalf("worker get: %v", err)
	}
	if strings.Join(sums, ",") != strings.Join(want, ",") {
		t.Fatalf("the worker got items with digests %v; want %v", sums, want)
	}
	waitStoreEmpty(t, p.Conn(), bucket)
}

// 5 MiB values go through a pipe to a worker task and back, byte for byte
// and in order; each is deleted once received, and the bucket goes with
// the pipe.
func TestPipeLargeValuesBetweenProcesses(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 120*time.Second)
	const n, size = 4, 5 << 20
	a, b, err := ipc.NewPipe[[]byte](ctx, p.Conn())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ipc.DeletePipe(context.Background(), p.Conn(), a.Name()) })
	bucket := "PROCPOOL_P_" + strings.TrimSuffix(a.Name(), ".a")
	echo := pool.ApplyAsync(ctx, p, pipeEchoBig, bigArg{Name: b.Name(), N: n})
	for i := range n {
		if err := a.Send(ctx, patternOf(i, size)); err != nil {
			t.Fatalf("Send #%d: %v", i, err)
		}
	}
	for i := range n {
		v, err := a.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv #%d: %v", i, err)
		}
		if !bytes.Equal(v, patternOf(i, size)) {
			t.Fatalf("Recv #%d: %d bytes, not value %d", i, len(v), i)
		}
	}
	if _, err := a.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after the echoes: %v, want io.EOF", err)
	}
	if got, err := echo.Wait(ctx); err != nil || got != n {
		t.Fatalf("echo task: %d, %v", got, err)
	}
	waitStoreEmpty(t, p.Conn(), bucket)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if b := storeBytes(t, p.Conn(), bucket); b != 0 {
		t.Errorf("bucket %s holds %d bytes after both ends closed", bucket, b)
	}
	js, err := jetstream.New(p.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Stream(ctx, "OBJ_"+bucket); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("bucket %s outlived its pipe: %v", bucket, err)
	}
}

// Start carries an argument and a result of 5 MiB and of 64 MiB; the
// stored argument is deleted once the process has ended.
func TestProcessLargeArgumentAndResult(t *testing.T) {
	p := newProcPool(t)
	for _, size := range []int{5 << 20, 64 << 20} {
		t.Run(fmt.Sprintf("%dMiB", size>>20), func(t *testing.T) {
			ctx := testutil.Ctx(t, 120*time.Second)
			in := patternOf(size, size)
			pr := start(t, p, raw, in)
			out, err := pr.Join(ctx)
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			checkInverted(t, out, in)
			waitNoValueFiles(t) // values_test.go
		})
	}
}

// A stored Start argument is a file of the pool's value directory while
// the process runs, and is deleted when it ends, by its result or by a
// kill.
func TestProcessStoredArgumentLifetime(t *testing.T) {
	p := newProcPool(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	release, err := ipc.NewQueue[string](ctx, p.Conn(), holdQueue)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = release.Delete(context.Background()) })
	const size = 5 << 20
	for _, end := range []string{"result", "kill"} {
		pr := start(t, p, holdBytes, patternOf(0, size))
		files := valueFiles(t) // values_test.go
		if len(files) != 1 {
			t.Fatalf("%s: value files while the process runs: %v; want its argument", end, files)
		}
		if st, err := os.Stat(files[0]); err != nil || st.Size() != size {
			t.Fatalf("%s: the argument's file: %v, %v; want %d bytes", end, st, err, size)
		}
		if end == "result" {
			if err := release.Put(ctx, "go"); err != nil {
				t.Fatal(err)
			}
			if n, err := pr.Join(ctx); err != nil || n != size {
				t.Fatalf("Join = %d, %v; want %d", n, err, size)
			}
		} else {
			if err := pr.Kill(); err != nil {
				t.Fatal(err)
			}
			if _, err := pr.Join(ctx); !errors.Is(err, pool.ErrWorkerLost) {
				t.Fatalf("Join after Kill = %v; want ErrWorkerLost", err)
			}
		}
		waitNoValueFiles(t)
	}
}

// Without a value directory on this host, a stored Start argument goes
// through the pool's bucket, and is deleted from it once the process has
// ended.
func TestProcessLargeArgumentThroughBucket(t *testing.T) {
	// A value root that cannot hold the pool's directory.
	t.Setenv("PROCPOOL_VALUE_ROOT", filepath.Join(t.TempDir(), "absent", "root"))
	p := newProcPool(t)
	ctx := testutil.Ctx(t, 60*time.Second)
	in := patternOf(3, 5<<20)
	pr := start(t, p, raw, in)
	out, err := pr.Join(ctx)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	checkInverted(t, out, in)
	waitStoreEmpty(t, p.Conn(), blob.Bucket(p.Name()))
}

// checkInverted fails t unless out is in with every byte inverted, what
// the raw task returns.
func checkInverted(t *testing.T, out, in []byte) {
	t.Helper()
	if len(out) != len(in) {
		t.Fatalf("result is %d bytes, want %d", len(out), len(in))
	}
	for i := range out {
		if out[i] != in[i]^0xff {
			t.Fatalf("result byte %d = %#x, want %#x", i, out[i], in[i]^0xff)
		}
	}
}
