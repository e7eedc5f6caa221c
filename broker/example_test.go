package broker_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/procpool/procpool/broker"
)

func ExampleStart() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// An embedded broker with JetStream, on a free loopback port, with
	// credentials of its own; pool.New starts one like it unless given
	// WithBroker.
	b, err := broker.Start(ctx, broker.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Shutdown()
	nc, err := b.Connect()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	fmt.Println(nc.IsConnected(), b.JetStreamReady(ctx))
	// Output: true <nil>
}
