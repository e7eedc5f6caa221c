package wire

import (
	"strconv"
	"strings"
)

// AckMeta is what a JetStream ack subject says about a delivery.
type AckMeta struct {
	Stream    string
	Delivered int    // how many times this message has been delivered, this time included
	StreamSeq uint64 // the message's sequence in the stream
}

// ParseAck reads a JetStream ack reply subject, in either the v1 form
// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
// or the v2 form with domain and account hash (and maybe a trailing token).
func ParseAck(subject string) (AckMeta, bool) {
	if !strings.HasPrefix(subject, "$JS.ACK.") {
		return AckMeta{}, false
	}
	tok := strings.Split(subject, ".")
	var s int // index of the stream token
	switch {
	case len(tok) == 9:
		s = 2
	case len(tok) >= 11:
		s = 4
	default:
		return AckMeta{}, false
	}
	del, err1 := strconv.Atoi(tok[s+2])
	seq, err2 := strconv.ParseUint(tok[s+3], 10, 64)
	if err1 != nil || err2 != nil || del < 1 {
		return AckMeta{}, false
	}
	return AckMeta{Stream: tok[s], Delivered: del, StreamSeq: seq}, true
}
