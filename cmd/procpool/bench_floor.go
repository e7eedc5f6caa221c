package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/pool"
)

// floors measures the latency floors under apply(): sequential round trips
// between this process and a responder in another process (started with
// pool.Start, as a worker is), over core NATS request/reply and over the
// JetStream work-queue path procpool's tasks take (publish with a PubAck,
// one pull of one message at a time, the answer on core NATS, an ack).
// apply() adds procpool's own work to the second: envelopes, receipts.
func (b *bench) floors(ctx context.Context) error {
	p, err := pool.New(ctx, append(b.cf.options(), pool.WithProcesses(0))...)
	if err != nil {
		return err
	}
	defer p.Close()
	nc := p.Conn()
	n := b.n(2000)

	const echo = "procpool.bench.floor.echo"
	core, err := b.floor(ctx, p, builtin.FloorArg{Subject: echo}, func() error {
		_, err := nc.Request(echo, []byte("hello"), 5*time.Second)
		return err
	}, n)
	if err != nil {
		return fmt.Errorf("core request/reply floor: %w", err)
	}
	b.record("nats_reqrep_p50_us", fmt.Sprintf("raw NATS request/reply round-trip median (%d calls)", n), "us", core[0])
	b.record("nats_reqrep_p99_us", fmt.Sprintf("raw NATS request/reply round-trip p99 (%d calls)", n), "us", core[1])

	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	const stream, subject = "PROCPOOL_BENCH_FLOOR", "procpool.bench.floor.js"
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.MemoryStorage})
	if err != nil {
		return err
	}
	defer func() { _ = js.DeleteStream(context.WithoutCancel(ctx), stream) }()
	if _, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "floor", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		return err
	}
	replies := make(chan *nats.Msg, 16)
	inbox := nc.NewInbox()
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	jsRTT, err := b.floor(ctx, p, builtin.FloorArg{Subject: subject, Stream: stream, Consumer: "floor"}, func() error {
		m := nats.NewMsg(subject)
		m.Header.Set(builtin.FloorReply, inbox)
		m.Data = []byte("hello")
		if _, err := js.PublishMsgAsync(m); err != nil {
			return err
		}
		select {
		case <-replies:
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("no answer in 5s")
		}
	}, n)
	if err != nil {
		return fmt.Errorf("JetStream floor: %w", err)
	}
	b.record("jetstream_rtt_p50_us", fmt.Sprintf("raw JetStream work-queue round-trip median (%d calls)", n), "us", jsRTT[0])
	b.record("jetstream_rtt_p99_us", fmt.Sprintf("raw JetStream work-queue round-trip p99 (%d calls)", n), "us", jsRTT[1])
	return nil
}

// floor starts a responder process with arg, waits until it answers, then
// times n sequential calls, repeats times; it returns the p50s and p99s.
func (b *bench) floor(ctx context.Context, p *pool.Pool, arg builtin.FloorArg, call func() error, n int) ([2][]float64, error) {
	var out [2][]float64
	pr, err := pool.Start(ctx, p, builtin.Responder, arg)
	if err != nil {
		return out, err
	}
	defer func() { _ = pr.Kill() }()
	// The responder is ready once a call goes through; the first may wait
	// for it to start.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := call()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || !pr.IsAlive() {
			return out, fmt.Errorf("responder not answering: %w", err)
		}
		time.Sleep(10 * time.Millisecond) // "no responders" comes back at once
	}
	if out[0], out[1], err = b.roundTrips(n, call); err != nil {
		return out, err
	}
	if err := p.Conn().Publish(arg.Subject+".stop", nil); err != nil {
		return out, err
	}
	if _, err := pr.Join(ctx); err != nil {
		return out, fmt.Errorf("responder: %w", err)
	}
	return out, nil
}
