package main

import (
	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
)

// connOptions is opts followed by the worker's credentials, inbox prefix
// and TLS settings, for this process's own connections (check, metrics).
func (o options) connOptions(opts ...nats.Option) []nats.Option {
	if o.cfg.User != "" {
		opts = append(opts, nats.UserInfo(o.cfg.User, o.cfg.Password))
	}
	if o.cfg.Token != "" {
		opts = append(opts, nats.Token(o.cfg.Token))
	}
	if prefix := wire.InboxPrefix(o.cfg.User, o.cfg.URL); prefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(prefix)) // as the workers do, for permissions
	}
	if o.cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.cfg.TLSCA))
	}
	if o.cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.cfg.TLSCert, o.cfg.TLSKey))
	}
	return opts
}
