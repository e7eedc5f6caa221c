package wire

import (
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"unsafe"
)

// Encode turns a task argument or result into bytes: []byte passes through
// unencoded, everything else is JSON. Strings, integers and booleans take
// a fast path that writes exactly the bytes encoding/json would.
func Encode[T any](v T) ([]byte, error) {
	if x, ok := any(v).([]byte); ok {
		return x, nil
	}
	return AppendEncode(nil, v)
}

// AppendEncode appends v's encoding to b (a []byte value is copied), so a
// chunk of items can share one buffer.
func AppendEncode[T any](b []byte, v T) ([]byte, error) {
	switch x := any(v).(type) {
	case []byte:
		return append(b, x...), nil
	case string:
		if plainASCII(x) {
			b = append(b, '"')
			b = append(b, x...)
			return append(b, '"'), nil
		}
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("encode %T: %w", v, err)
	}
	return append(b, enc...), nil
}

// Decode is the inverse of Encode.
func Decode[T any](b []byte) (T, error) {
	var v T
	switch p := any(&v).(type) {
	case *[]byte:
		// Copy: b usually aliases a NATS message buffer.
		*p = append([]byte(nil), b...)
		return v, nil
	case *string:
		if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && plainASCIIBytes(b[1:len(b)-1]) {
			*p = string(b[1 : len(b)-1])
			return v, nil
		}
	case *int:
		if jsonInteger(b) {
			if n, err := strconv.ParseInt(string(b), 10, strconv.IntSize); err == nil {
				*p = int(n)
				return v, nil
			}
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

// jsonInteger reports whether b is an integer in JSON's grammar: an
// optional minus, then 0 or digits not starting with 0.
func jsonInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || (b[0] == '0' && len(b) > 1) {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// plainASCII reports whether encoding/json would write s between quotes
// unchanged: printable ASCII without '"', '\\' and the HTML-escaped <, >, &.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			return false
		}
	}
	return true
}

// DecodePlainStrings decodes items, each a JSON string, into dst (as many
// as there are items) when every one is plain ASCII without escapes, and
// reports whether it did; if not, dst is untouched and each item
// needs Decode. The strings share one allocation: a chunk of results costs
// one, not one per item.
func DecodePlainStrings(dst []string, items iter.Seq[[]byte]) bool {
	total, n := 0, 0
	for b := range items {
		if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || !plainASCIIBytes(b[1:len(b)-1]) {
			return false
		}
		total += len(b) - 2
		n++
	}
	if n != len(dst) {
		return false
	}
	if total == 0 {
		clear(dst)
		return true
	}
	buf := make([]byte, 0, total)
	for b := range items {
		buf = append(buf, b[1:len(b)-1]...)
	}
	// buf is never written again, so the string may share its memory.
	all := unsafe.String(&buf[0], len(buf))
	off, k := 0, 0
	for b := range items {
		n := len(b) - 2
		dst[k] = all[off : off+n]
		off += n
		k++
	}
	return true
}

func plainASCIIBytes(b []byte) bool {
	for _, c := range b {
		if !plainByte(c) {
			return false
		}
	}
	return true
}

func plainByte(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}
