package broker

import (
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
)

// Pools on one broker are kept apart by NATS accounts: each account has
// its own subject space and its own JetStream (streams, consumers, object
// stores), and nothing crosses between accounts unless exported, which
// procpool never does. A user whose Permissions name an Account (as
// CallerPermissions and WorkerPermissions do, one account per pool) is
// placed in it; other users, the administrator included, stay in the
// global account. Subject permissions alone could not do this: JetStream's
// API subjects name streams, and a queue's stream name is its own.

// PoolAccount is the NATS account of pool's users, as CallerPermissions
// and WorkerPermissions name it.
func PoolAccount(pool string) string { return "procpool-" + pool }

// accountLimits are JetStream's limits for the accounts procpool makes:
// none of their own; the server's MaxMemory and MaxStore bound them all.
var accountLimits = map[string]server.JetStreamAccountLimits{"": {
	MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1, MaxAckPending: -1,
	MemoryMaxStreamBytes: -1, StoreMaxStreamBytes: -1,
}}

// accountFor returns the account named name in opts, adding it if new.
func accountFor(opts *server.Options, name string) *server.Account {
	for _, a := range opts.Accounts {
		if a.Name == name {
			return a
		}
	}
	a := server.NewAccount(name)
	opts.Accounts = append(opts.Accounts, a)
	return a
}

// enableAccounts turns JetStream on in the accounts Start made, and in
// the global account beside them: nats-server enables it only for the
// global account when no accounts are configured, and for none of them
// when some are and carry no limits.
func (s *Server) enableAccounts() error {
	if len(s.accounts) == 0 {
		return nil
	}
	names := append([]string{server.DEFAULT_GLOBAL_ACCOUNT}, s.accounts...)
	for _, name := range names {
		acc, err := s.ns.LookupAccount(name)
		if err != nil {
			return fmt.Errorf("broker: account %s: %w", name, err)
		}
		if acc.JetStreamEnabled() {
			continue
		}
		if err := acc.EnableJetStream(accountLimits, nil); err != nil {
			return fmt.Errorf("broker: JetStream for account %s: %w", name, err)
		}
	}
	return nil
}
