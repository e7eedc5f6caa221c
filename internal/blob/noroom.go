package blob

import (
	"errors"
	"syscall"

	"github.com/nats-io/nats.go/jetstream"
)

// jsInsufficientResources is JetStream's error code for a store at its limit.
const jsInsufficientResources = 10023

// NoRoom reports whether err says the value store is full: JetStream's
// insufficient resources (its memory or file limit), or a full disk.
func NoRoom(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, syscall.ENOSPC) || errors.As(err, &api) && api.ErrorCode == jsInsufficientResources
}
