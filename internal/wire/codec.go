package wire

import (
	"encoding/json"
	"fmt"
)

// Encode turns a task argument or result into bytes: []byte passes through
// unencoded, everything else is JSON.
func Encode[T any](v T) ([]byte, error) {
	if b, ok := any(v).([]byte); ok {
		return b, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

// Decode is the inverse of Encode.
func Decode[T any](b []byte) (T, error) {
	var v T
	if p, ok := any(&v).(*[]byte); ok {
		// Copy: b usually aliases a NATS message buffer.
		*p = append([]byte(nil), b...)
		return v, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}
