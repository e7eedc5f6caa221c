package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// check is --check: connect with the worker's credentials and ask
// JetStream for the account's info, which a clustered JetStream answers
// only once it has a meta leader. It exits 0 when that works, else 1.
func check(ctx context.Context, o options, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	opts := []nats.Option{nats.Name("procpool-worker check"), nats.Timeout(3 * time.Second)}
	if o.cfg.User != "" {
		opts = append(opts, nats.UserInfo(o.cfg.User, o.cfg.Password))
	}
	if o.cfg.Token != "" {
		opts = append(opts, nats.Token(o.cfg.Token))
	}
	nc, err := nats.Connect(o.cfg.URL, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "procpool-worker: check %s: %v\n", redact(o.cfg.URL), err)
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		_, err = js.AccountInfo(ctx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "procpool-worker: check %s: JetStream: %v\n", nc.ConnectedUrlRedacted(), err)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %s (server %s, cluster %q)\n", nc.ConnectedUrlRedacted(), nc.ConnectedServerName(), nc.ConnectedClusterName())
	return 0
}

// redact drops credentials from each URL of a comma-separated list.
func redact(list string) string {
	parts := strings.Split(list, ",")
	for i, part := range parts {
		if u, err := url.Parse(strings.TrimSpace(part)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
