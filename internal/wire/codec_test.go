package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
)

// Strings and bytes travel raw, byte for byte; the fast paths of other
// types must write and accept exactly what encoding/json does.
func TestCodecMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "item-1-abc", "a\"b", `back\slash`, "<html>&", "tab\t", "ünïcode", "\x00", "\x7f", string([]byte{0xff})} {
		got, err := Encode(s)
		if err != nil || string(got) != s {
			t.Errorf("Encode(%q) = %q, %v; want the string's bytes", s, got, err)
		}
		back, err := Decode[string](got)
		if err != nil || back != s {
			t.Errorf("Decode(%q) = %q, %v; want it back byte for byte", got, back, err)
		}
	}
	for _, n := range []int{0, 1, -1, 42, math.MaxInt, math.MinInt} {
		got, _ := Encode(n)
		want, _ := json.Marshal(n)
		if !bytes.Equal(got, want) {
			t.Errorf("Encode(%d) = %s, want %s", n, got, want)
		}
		if back, err := Decode[int](got); err != nil || back != n {
			t.Errorf("Decode(%s) = %d, %v", got, back, err)
		}
	}
	for _, bad := range []string{"+1", "01", "-01", "-", "1.5", "1e3", "1_000", "", `"1"`, "9223372036854775808"} {
		_, err := Decode[int]([]byte(bad))
		var ref int
		refErr := json.Unmarshal([]byte(bad), &ref)
		if (err == nil) != (refErr == nil) {
			t.Errorf("Decode[int](%q) err %v; encoding/json err %v", bad, err, refErr)
		}
	}
	if b, _ := Encode(true); string(b) != "true" {
		t.Errorf("Encode(true) = %s", b)
	}
	raw := []byte{0, 1, 0xff}
	if b, _ := Encode(raw); !bytes.Equal(b, raw) {
		t.Errorf("[]byte not passed through: %v", b)
	}
	if back, _ := Decode[[]byte](raw); !bytes.Equal(back, raw) || &back[0] == &raw[0] {
		t.Errorf("[]byte decode must copy")
	}
	buf, _ := AppendEncode([]byte("x"), "y")
	buf, _ = AppendEncode(buf, 7)
	buf, _ = AppendEncode(buf, []byte{1})
	if string(buf) != "xy7\x01" {
		t.Errorf("AppendEncode chain = %q", buf)
	}
	type s struct{ A int }
	if b, _ := Encode(s{3}); string(b) != `{"A":3}` {
		t.Errorf("struct: %s", b)
	}
	if _, err := Encode(func() {}); err == nil {
		t.Error("encoding a func must fail")
	}
}

func BenchmarkCodecString(b *testing.B) {
	for b.Loop() {
		e, _ := Encode("item-12345-abc")
		_, _ = Decode[string](e)
	}
}

// A chunk of 12,500 string results (Python's default chunk for 100,000
// items on 2 workers), decoded one by one and in one allocation.
func BenchmarkDecodeStringChunk(b *testing.B) {
	items := make([][]byte, 12500)
	for i := range items {
		items[i], _ = Encode("ITEM-" + string(rune('a'+i%26)) + "-ABC")
	}
	dst := make([]string, len(items))
	b.Run("each", func(b *testing.B) {
		for b.Loop() {
			for i, it := range items {
				dst[i], _ = Decode[string](it)
			}
		}
	})
	b.Run("one allocation", func(b *testing.B) {
		for b.Loop() {
			if !DecodeStrings(dst, slices.Values(items)) {
				b.Fatal("declined")
			}
		}
	})
}
