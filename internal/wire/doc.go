// Package wire holds what the pool (caller side) and the worker runtime share
// and nobody else should: subject names, header names, the binary task and
// result envelopes, the value codec, and error codes on the wire.
//
// See docs/protocol.md for the protocol these types implement.
package wire
