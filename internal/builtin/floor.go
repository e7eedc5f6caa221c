package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

// FloorArg sets up a latency-floor responder (procpool bench --only raw):
// it answers on Subject, or, with Stream and Consumer, pulls one message at
// a time from that work-queue consumer and answers each to its FloorReply
// header, as a procpool worker does minus procpool. It serves until a
// message arrives on Subject+".stop" and returns how many it answered.
type FloorArg struct {
	Subject  string `json:"subject"`
	Stream   string `json:"stream,omitempty"`
	Consumer string `json:"consumer,omitempty"`
}

// FloorReply is the header naming where a JetStream floor message's answer goes.
const FloorReply = "Floor-Reply"

// Responder is the latency floor's other end, in its own process.
var Responder = worker.Register("procpool.floor-responder", func(ctx context.Context, a FloorArg) (int, error) {
	nc := worker.Conn(ctx)
	if nc == nil || a.Subject == "" {
		return 0, errors.New("floor-responder: no connection or no subject")
	}
	stop, err := nc.SubscribeSync(a.Subject + ".stop")
	if err != nil {
		return 0, err
	}
	defer stop.Unsubscribe()
	n := 0
	if a.Stream == "" {
		sub, err := nc.Subscribe(a.Subject, func(m *nats.Msg) {
			n++
			_ = m.Respond(m.Data)
		})
		if err != nil {
			return 0, err
		}
		defer sub.Unsubscribe()
		if _, err := stop.NextMsgWithContext(ctx); err != nil {
			return 0, err
		}
		_ = sub.Drain()
		return n, nil
	}
	// One pull of one message at a time on a long-lived inbox, as
	// worker.Serve pulls.
	inbox := nc.NewInbox()
	msgs := make(chan *nats.Msg, 16)
	sub, err := nc.ChanSubscribe(inbox, msgs)
	if err != nil {
		return 0, err
	}
	defer sub.Unsubscribe()
	req, _ := json.Marshal(map[string]any{"batch": 1, "expires": (5 * time.Second).Nanoseconds()})
	next := wire.ConsumerNextSubject(a.Stream, a.Consumer)
	stopped := make(chan struct{})
	go func() {
		if _, err := stop.NextMsgWithContext(ctx); err == nil {
			close(stopped)
		}
	}()
	pull := func() error { return nc.PublishRequest(next, inbox, req) }
	if err := pull(); err != nil {
		return 0, err
	}
	for {
		select {
		case m := <-msgs:
			if m.Header.Get("Status") != "" { // expired pull, heartbeat: ask again
				if err := pull(); err != nil {
					return n, err
				}
				continue
			}
			n++
			_ = nc.Publish(m.Header.Get(FloorReply), m.Data)
			_ = nc.Publish(m.Reply, []byte(wire.AckOK))
			if err := pull(); err != nil {
				return n, err
			}
		case <-stopped:
			return n, nil
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
})
