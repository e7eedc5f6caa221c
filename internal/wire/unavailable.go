package wire

import (
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MarkUnavailable makes err match ErrUnavailable when it says that the
// broker, or its JetStream, could not answer: no responders, no response
// from a stream, a disconnected connection, or JetStream's 503
// ("temporarily unavailable", a cluster without a leader). The text is
// err's own. Other errors, nil included, come back as they are.
func MarkUnavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	var api *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrDisconnected), errors.As(err, &api) && api.Code == 503:
		return unavailable{err}
	}
	return err
}

type unavailable struct{ err error }

func (u unavailable) Error() string   { return u.err.Error() }
func (u unavailable) Unwrap() []error { return []error{u.err, ErrUnavailable} }

// Unreachable reports whether err, from reading a stored value, says the
// broker could not serve it (MarkUnavailable's cases, or a request that
// timed out) rather than that the value is gone or bad.
func Unreachable(err error) bool {
	return errors.Is(MarkUnavailable(err), ErrUnavailable) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting)
}
