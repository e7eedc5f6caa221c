package wire

import (
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// JetStream reserves a stream's MaxBytes against the server's memory or
// storage limit when the stream is made: a default bound larger than a
// small broker's whole JetStream would stop every pool on it from
// starting. CreateFitted shrinks the bound until it fits, by quarters, so
// that what it takes leaves room beside it (for the values bucket, the
// queues).

// minFittedBytes is the smallest bound CreateFitted tries.
const minFittedBytes = 1 << 20

// JetStream's error codes for a store at its limit: insufficient
// resources, memory, storage.
var noRoomCodes = []jetstream.ErrorCode{10023, 10028, 10047}

// IsNoRoom reports whether err is JetStream's answer that its store has
// no room for what was asked.
func IsNoRoom(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && isNoRoom(api.ErrorCode)
}

// CreateFitted calls create with cfg; while JetStream answers that it
// cannot reserve cfg.MaxBytes, it divides cfg.MaxBytes by four (down to
// 1 MiB) and tries again. It returns create's last error.
func CreateFitted(cfg *jetstream.StreamConfig, create func() error) error {
	for {
		err := create()
		var api *jetstream.APIError
		if err == nil || cfg.MaxBytes <= minFittedBytes || !errors.As(err, &api) || !isNoRoom(api.ErrorCode) {
			return err
		}
		cfg.MaxBytes = max(cfg.MaxBytes/4, minFittedBytes)
	}
}

func isNoRoom(code jetstream.ErrorCode) bool {
	for _, c := range noRoomCodes {
		if code == c {
			return true
		}
	}
	return false
}
