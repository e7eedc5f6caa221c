package wire

import (
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"unsafe"
)

// Encode turns a task argument or result into bytes: []byte and string
// pass through unencoded (the result aliases v's memory: callers never
// write to it), everything else is JSON. Integers and booleans take a fast
// path that writes exactly the bytes encoding/json would.
//
// A string travels raw rather than as JSON text: quoting a 5 MiB string
// only for the other side to unquote it was two scans and a copy of every
// byte, and JSON would replace invalid UTF-8; raw, any Go string arrives
// byte for byte.
func Encode[T any](v T) ([]byte, error) {
	if b, ok := Raw(v); ok {
		return b, nil
	}
	return AppendEncode(nil, v)
}

// Raw returns the bytes of a value that travels unencoded ([]byte or
// string), aliasing its memory, and whether it is one.
func Raw[T any](v T) ([]byte, bool) {
	switch x := any(v).(type) {
	case []byte:
		return x, true
	case string:
		return unsafe.Slice(unsafe.StringData(x), len(x)), true
	}
	return nil, false
}

// AppendEncode appends v's encoding to b (a []byte or string value is
// copied), so a chunk of items can share one buffer.
func AppendEncode[T any](b []byte, v T) ([]byte, error) {
	switch x := any(v).(type) {
	case []byte:
		return append(b, x...), nil
	case string:
		return append(b, x...), nil
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

// Decode is the inverse of Encode. It copies what it keeps: b usually
// aliases a message's data, which a small value must not hold alive.
func Decode[T any](b []byte) (T, error) {
	var v T
	switch p := any(&v).(type) {
	case *[]byte:
		*p = append([]byte(nil), b...)
		return v, nil
	case *string:
		*p = string(b)
		return v, nil
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

// DecodeOwned is Decode for bytes nothing else refers to or will write
// (a stored value this process fetched): a []byte or string keeps b's
// memory instead of a copy of a value that may be a gigabyte.
func DecodeOwned[T any](b []byte) (T, error) {
	var v T
	switch p := any(&v).(type) {
	case *[]byte:
		*p = b
		return v, nil
	case *string:
		*p = unsafe.String(unsafe.SliceData(b), len(b))
		return v, nil
	}
	return Decode[T](b)
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

// DecodeStrings decodes items, each a string's encoding, into dst (as
// many as there are items) in one allocation: a chunk of results costs
// one, not one per item. It reports false, leaving dst alone, when the
// counts differ.
func DecodeStrings(dst []string, items iter.Seq[[]byte]) bool {
	total, n := 0, 0
	for b := range items {
		total += len(b)
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
		buf = append(buf, b...)
	}
	// buf is never written again, so the strings may share its memory.
	all := unsafe.String(&buf[0], len(buf))
	off, k := 0, 0
	for b := range items {
		dst[k] = all[off : off+len(b)]
		off += len(b)
		k++
	}
	return true
}
