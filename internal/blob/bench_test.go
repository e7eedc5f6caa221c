package blob

import (
	"bytes"
	"testing"
)

// BenchmarkValueStores puts a 5 MiB value and gets it back, through value
// files and through the object store on an embedded broker: the
// measurement behind using files for workers on the caller's host
// (docs/protocol.md, Values of any size). SetBytes counts the value once.
//
//	go test -run '^$' -bench ValueStores -count 5 ./internal/blob
func BenchmarkValueStores(b *testing.B) {
	value := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16)
	b.Run("file", func(b *testing.B) {
		d, err := NewDir()
		if err != nil {
			b.Fatal(err)
		}
		defer d.Remove()
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			ref, err := d.Write("a", value)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := readFile(ref); err != nil {
				b.Fatal(err)
			}
			_ = removeFile(ref)
		}
	})
	b.Run("object", func(b *testing.B) {
		js := startJS(b)
		o, err := OpenObjects(b.Context(), js, Bucket("bench"), ObjectsConfig{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			ref, err := o.Put(b.Context(), "a", value)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := o.Get(b.Context(), ref); err != nil {
				b.Fatal(err)
			}
			_ = o.Delete(b.Context(), ref)
		}
	})
}
