package pool

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// clusterReplicas is the task stream's replica count when WithReplicas is
// not given: 3 on a cluster of 3 or more nodes, as workers that create the
// stream first would make it (wire.DefaultReplicas).
func clusterReplicas(nc *nats.Conn) int { return wire.DefaultReplicas(nc) }

// ensureStream creates or updates the pool's stream and consumer, retrying
// while the JetStream cluster is not ready for it (a new cluster still
// electing its meta leader or hearing from its peers, a leader lost with a
// node), until ctx ends. Each attempt has its own short deadline: a
// request sent while there is no meta leader gets no answer at all.
func ensureStream(ctx context.Context, js jetstream.JetStream, subj wire.Subjects, o wire.StreamOptions) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := wire.EnsureStream(actx, js, subj, o)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !clusterNotReady(err) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// errCodeNoResources is JetStream's "insufficient resources": a new
// cluster answers it while its nodes do not know each other yet.
const errCodeNoResources = 10023

// clusterNotReady reports whether err passes once a new cluster settles:
// what any API request may meet mid-change (wire.APINotReady), peers not
// yet known, or no JetStream answering yet.
func clusterNotReady(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeNoResources {
		return true
	}
	return wire.APINotReady(err) || errors.Is(err, nats.ErrNoResponders)
}

// dialBroker dials the external broker. While no server of the list accepts
// the connection (a cluster starting next to its clients, a node
// restarting), it tries again until ctx ends or within passes.
func dialBroker(ctx context.Context, url string, within time.Duration, log *slog.Logger, opts ...nats.Option) (*nats.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	wait := 100 * time.Millisecond
	for logged := false; ; logged = true {
		nc, err := nats.Connect(url, opts...)
		if err == nil || !errors.Is(err, nats.ErrNoServers) {
			return nc, err
		}
		if !logged {
			log.Info("pool: broker not reachable yet; retrying", "url", wire.RedactURLs(url), "err", err, "for", within)
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
