package blob

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/wire"
)

// testRoot points Root at a directory of the test's own.
func testRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	t.Setenv("PROCPOOL_VALUE_ROOT", root)
	return root
}

func TestDirWriteReadRemove(t *testing.T) {
	root := testRoot(t)
	d, err := NewDir()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(d.Path()); err != nil || st.Mode().Perm() != 0o700 || filepath.Dir(d.Path()) != root {
		t.Fatalf("value directory %s: %v, %v; want mode 0700 under %s", d.Path(), st, err, root)
	}
	ref, err := d.Write("a", []byte("head-"), []byte("tail"))
	if err != nil || ref.Kind != wire.RefFile || ref.Size != 9 {
		t.Fatalf("Write = %+v, %v", ref, err)
	}
	got, err := readFile(ref)
	if err != nil || string(got) != "head-tail" {
		t.Fatalf("readFile = %q, %v", got, err)
	}
	if err := removeFile(ref); err != nil {
		t.Fatal(err)
	}
	if err := removeFile(ref); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := readFile(ref); !errors.Is(err, ErrMissing) {
		t.Fatalf("readFile after remove: %v, want ErrMissing", err)
	}
	if _, err := d.Write("x", []byte("abcd")); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path()); !os.IsNotExist(err) {
		t.Fatalf("directory left after Remove: %v", err)
	}
}

func TestSizeMismatchAndBadNames(t *testing.T) {
	testRoot(t)
	d, err := NewDir()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := d.Write("a", []byte("four"))
	if err != nil {
		t.Fatal(err)
	}
	ref.Size = 3
	if _, err := readFile(ref); err == nil {
		t.Fatal("a ref of the wrong size read without error")
	}
	for _, dir := range []string{"../etc", "procpool-x/../..", "/tmp", "not-ours"} {
		if _, err := WriteIn(dir, "r", []byte("x")); err == nil {
			t.Errorf("WriteIn(%q) succeeded: a value may only go into a value directory", dir)
		}
	}
}

// TestSweepRemovesDeadOwners: a directory whose process has exited is
// removed by the next NewDir on the host; a live one is kept.
func TestSweepRemovesDeadOwners(t *testing.T) {
	root := testRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(root, dirPrefix+strconv.Itoa(cmd.Process.Pid)+"_abc")
	live := filepath.Join(root, dirPrefix+strconv.Itoa(os.Getppid())+"_abc")
	other := filepath.Join(root, "unrelated")
	for _, p := range []string{dead, live, other} {
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewDir(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead process's directory is still there: %v", err)
	}
	for _, p := range []string{live, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

func TestExpire(t *testing.T) {
	testRoot(t)
	d, err := NewDir()
	if err != nil {
		t.Fatal(err)
	}
	old, _ := d.Write("r", []byte("old"))
	fresh, _ := d.Write("r", []byte("fresh"))
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(Root(), old.Name), past, past); err != nil {
		t.Fatal(err)
	}
	if n := d.Expire(time.Hour); n != 1 {
		t.Fatalf("Expire removed %d files, want 1", n)
	}
	if _, err := readFile(old); !errors.Is(err, ErrMissing) {
		t.Errorf("the old file is still there: %v", err)
	}
	if _, err := readFile(fresh); err != nil {
		t.Errorf("the fresh file: %v", err)
	}
}

func startJS(t testing.TB) jetstream.JetStream {
	t.Helper()
	s, err := broker.Start(t.Context(), broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestObjectsLeaveNothing: an object is stored in chunks, read back
// byte for byte, and deleted with its tombstone: the bucket's stream is
// empty again.
func TestObjectsLeaveNothing(t *testing.T) {
	js := startJS(t)
	ctx := t.Context()
	o, err := OpenObjects(ctx, js, Bucket("t"), ObjectsConfig{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB, several chunks
	ref, err := o.Put(ctx, "a", data[:10], data[10:])
	if err != nil || ref.Kind != wire.RefObject || ref.Size != int64(len(data)) {
		t.Fatalf("Put = %+v, %v", ref, err)
	}
	got, err := o.Get(ctx, ref)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	if err := o.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	info, err := o.stream.Info(ctx)
	if err != nil || info.State.Msgs != 0 || info.State.Bytes != 0 {
		t.Fatalf("bucket after Delete: %+v, %v; want empty", info.State, err)
	}
	if _, err := o.Get(ctx, ref); !errors.Is(err, ErrMissing) {
		t.Fatalf("Get after Delete: %v, want ErrMissing", err)
	}
	if ttl := info.Config.MaxAge; ttl != time.Hour {
		t.Fatalf("bucket TTL %v, want 1h", ttl)
	}
}

// TestValuesPutFallsBackToBucket: a value directory that is not on this
// host (a remote worker's caller) sends the value to the bucket; Release
// deletes it in the background.
func TestValuesPutFallsBackToBucket(t *testing.T) {
	testRoot(t)
	js := startJS(t)
	ctx := t.Context()
	v := NewValues(js, Bucket("t2"), ObjectsConfig{})
	defer v.Close()
	ref, err := v.Put(ctx, "procpool-999999999_elsewhere", "r", []byte("value"))
	if err != nil || ref.Kind != wire.RefObject {
		t.Fatalf("Put into an absent directory = %+v, %v; want an object", ref, err)
	}
	if got, err := v.Get(ctx, ref); err != nil || string(got) != "value" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	v.Release(ref)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// A Get that began before the delete may fail otherwise (its
		// chunks vanish under it); the object must end up missing.
		gctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := v.Get(gctx, ref)
		cancel()
		if errors.Is(err, ErrMissing) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("released object still there: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	d, _ := NewDir()
	fref, err := v.Put(ctx, d.Name(), "r", []byte("local"))
	if err != nil || fref.Kind != wire.RefFile {
		t.Fatalf("Put into this host's directory = %+v, %v; want a file", fref, err)
	}
}
