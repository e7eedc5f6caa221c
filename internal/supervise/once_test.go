package supervise

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

// A result is read whole, whatever its size; a length announced but not
// written costs memory only for the bytes that did come.
func TestReadResult(t *testing.T) {
	want := make([]byte, 3<<20+5) // past the first buffer: it grows
	for i := range want {
		want[i] = byte(i * 13)
	}
	got, err := readResult(io.MultiReader(bytes.NewReader(want), strings.NewReader("next line\n")), len(want))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("readResult(%d bytes) = %d bytes, %v", len(want), len(got), err)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err = readResult(strings.NewReader("0123456789"), 1<<30)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != "0123456789" {
		t.Fatalf("readResult of 10 bytes announced as 1 GiB = %q, %v; want them and ErrUnexpectedEOF", got, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("10 bytes announced as 1 GiB took %d bytes of memory", alloc)
	}
}

// The status pipe takes results over 1 GiB; a length past the sanity
// bound is refused without reading on.
func TestStatusResultLength(t *testing.T) {
	for _, tc := range []struct {
		status, note string
	}{
		{"result 1073741825\nabc", "result cut short after 3 of 1073741825 bytes"},
		{"result 1099511627777\n", `bad result length "1099511627777"`},
		{"result -1\n", `bad result length "-1"`},
		{"result x\n", `bad result length "x"`},
	} {
		o := &Once{}
		o.readStatus(strings.NewReader(tc.status))
		if !strings.HasPrefix(o.pipeNote, tc.note) || o.result != nil {
			t.Errorf("%q: note %q, %d result bytes; want note %q and no result", tc.status, o.pipeNote, len(o.result), tc.note)
		}
	}
	o := &Once{}
	o.readStatus(strings.NewReader("ready x\nresult 3\nabc"))
	if string(o.result) != "abc" || !o.ready || o.pipeNote != "" {
		t.Errorf("a 3-byte result: %q, ready %v, note %q", o.result, o.ready, o.pipeNote)
	}
}
