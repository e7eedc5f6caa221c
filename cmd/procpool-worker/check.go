package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// check is --check: it exits 0 when probe succeeds, else 1.
func check(ctx context.Context, o options, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	where, err := probe(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "procpool-worker: check %s: %v\n", wire.RedactURLs(o.cfg.URL), err)
		return 1
	}
	fmt.Fprintln(stdout, "ok:", where)
	return 0
}

// probe connects with the worker's credentials and asks JetStream for the
// account's info, which a clustered JetStream answers only once it has a
// meta leader. It says where it got the answer.
func probe(ctx context.Context, o options) (string, error) {
	opts := o.connOptions(nats.Name("procpool-worker probe"), nats.Timeout(3*time.Second))
	nc, err := nats.Connect(o.cfg.URL, opts...)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		_, err = js.AccountInfo(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("JetStream on %s: %w", nc.ConnectedUrlRedacted(), err)
	}
	return fmt.Sprintf("%s (server %s, cluster %q)", nc.ConnectedUrlRedacted(), nc.ConnectedServerName(), nc.ConnectedClusterName()), nil
}
