package wire

import (
	"fmt"
	"time"
)

// JetStream's words that procpool speaks by hand: the bodies of the
// replies that settle a delivered message, and the subject that asks a
// pull consumer for messages. They are JetStream's, not ours; they are
// spelled here once.
const (
	// AckOK acknowledges a message: done, never redelivered.
	AckOK = "+ACK"
	// AckNak asks for the message to be redelivered now.
	AckNak = "-NAK"
	// AckTerm ends the message: never redelivered, not done either.
	AckTerm = "+TERM"
	// AckProgress says the message is still being worked on: its ack
	// wait starts again.
	AckProgress = "+WPI"

	// ConsumerNextPrefix begins the subject of a pull request,
	// ConsumerNextPrefix + "<stream>.<consumer>".
	ConsumerNextPrefix = "$JS.API.CONSUMER.MSG.NEXT."
)

// ConsumerNextSubject is the subject a pull request for the next messages
// of stream's durable consumer goes to.
func ConsumerNextSubject(stream, consumer string) string {
	return ConsumerNextPrefix + stream + "." + consumer
}

// NakDelay is the body of a -NAK that asks for the message to be
// redelivered after d.
func NakDelay(d time.Duration) []byte {
	return fmt.Appendf(nil, "%s {\"delay\": %d}", AckNak, d.Nanoseconds())
}
