package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// InboxGuardStream is the stream the broker keeps in every pool account
// so that no stream can capture a user's inboxes (see docs/security.md).
//
// A caller may create streams (its queues and pipes are streams named
// after them), and a stream stores every message on its subjects: a
// stream on another caller's inbox prefix would keep that caller's
// results for the taker to read. Permissions cannot stop it, because the
// subjects are in the request's body, not its subject. JetStream itself
// can: it refuses a stream whose subjects could match a message another
// stream of the account takes. So the broker gives each pool account one
// stream on literal subjects just under each user's inbox prefix, at
// every depth an inbox reply has: any filter that could match a real
// inbox subject collides with one of them, unless it names the inbox's
// random token, which only its owner knows. Nothing is published on
// those literals, so the guard costs nothing on the result path.
const InboxGuardStream = "PROCPOOL-INBOX-GUARD"

// guardDepth is how many tokens under an inbox prefix the guard covers:
// the pool's results arrive two tokens down (<prefix>.<inbox>.<n>), and
// nats.go's request inboxes one or two.
const guardDepth = 4

// inboxGuard is the guard of one account: the subjects it holds and the
// hidden user, known only to this process, that creates it.
type inboxGuard struct {
	account        string
	user, password string
	subjects       []string
}

// planInboxGuards adds to opts one hidden user per account that has users
// with inbox prefixes, for [Server.startInboxGuards] to create the guard
// with. It runs once the users are final (a config file's included).
func (s *Server) planInboxGuards(opts *server.Options) {
	byAccount := map[*server.Account][]string{}
	var order []*server.Account
	for _, u := range opts.Users {
		if u.Account == nil || u.Account.Name == server.DEFAULT_GLOBAL_ACCOUNT || u.Permissions == nil || u.Permissions.Subscribe == nil {
			continue
		}
		for _, allow := range u.Permissions.Subscribe.Allow {
			prefix, ok := strings.CutSuffix(allow, ".>")
			if !ok || !strings.HasPrefix(prefix, "_INBOX.") || !server.IsValidLiteralSubject(prefix) {
				continue
			}
			if _, seen := byAccount[u.Account]; !seen {
				order = append(order, u.Account)
			}
			byAccount[u.Account] = append(byAccount[u.Account], guardSubjects(prefix)...)
		}
	}
	for _, acc := range order {
		g := inboxGuard{
			account: acc.Name,
			// A colon is in no name Config.Users accepts, so this one
			// cannot collide with a user's.
			user:     "procpool:inbox-guard:" + acc.Name,
			password: randomHex(24),
			subjects: slices.Compact(slices.Sorted(slices.Values(byAccount[acc]))),
		}
		opts.Users = append(opts.Users, &server.User{
			Username: g.user, Password: g.password, Account: acc,
			Permissions: &server.Permissions{
				Publish: &server.SubjectPermission{Allow: []string{
					"$JS.API.STREAM.CREATE." + InboxGuardStream,
					"$JS.API.STREAM.UPDATE." + InboxGuardStream,
					"$JS.API.STREAM.INFO." + InboxGuardStream,
				}},
				Subscribe: &server.SubjectPermission{Allow: []string{guardInboxPrefix + ".>"}},
			},
		})
		s.guards = append(s.guards, g)
	}
}

// guardInboxPrefix is the hidden users' own inbox prefix: outside
// "_INBOX.", so that no user's prefix covers it.
const guardInboxPrefix = "_PROCPOOL_GUARD_INBOX"

// guardSubjects are the literals under prefix, one per depth.
func guardSubjects(prefix string) []string {
	subjects := make([]string, 0, guardDepth)
	subject := prefix
	for range guardDepth {
		subject += ".procpool-guard"
		subjects = append(subjects, subject)
	}
	return subjects
}

// startInboxGuards creates every account's guard. A standalone node does
// it before Start returns, right after enabling JetStream in the account
// (before that, nobody could create a stream there); a clustered node keeps trying in the background until its cluster has a
// JetStream leader (until then nobody can create a stream either), and
// reports a stream that already holds an inbox subject.
func (s *Server) startInboxGuards(ctx context.Context) error {
	if len(s.guards) == 0 {
		return nil
	}
	if !s.ns.JetStreamIsClustered() {
		for _, g := range s.guards {
			gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.createInboxGuard(gctx, g)
			cancel()
			if err != nil {
				return err
			}
		}
		return nil
	}
	gctx, cancel := context.WithCancel(context.Background())
	s.stopGuards = cancel
	for _, g := range s.guards {
		go s.keepTryingInboxGuard(gctx, g)
	}
	return nil
}

func (s *Server) keepTryingInboxGuard(ctx context.Context, g inboxGuard) {
	logger := s.logger.With("component", "broker", "account", g.account)
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.createInboxGuard(actx, g)
		cancel()
		if err == nil {
			logger.Debug("inbox guard in place", "stream", InboxGuardStream)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if attempt%20 == 19 {
			logger.Error("inbox guard not in place yet: another stream may capture inboxes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// createInboxGuard creates g's stream, or widens an existing guard (made
// by another node whose users differ) to g's subjects too.
func (s *Server) createInboxGuard(ctx context.Context, g inboxGuard) error {
	if acc, err := s.ns.LookupAccount(g.account); err == nil && !acc.JetStreamEnabled() {
		return nil // no stream can be made there at all
	}
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), nats.UserInfo(g.user, g.password),
		nats.CustomInboxPrefix(guardInboxPrefix), nats.Name("procpool inbox guard"), nats.NoReconnect())
	if err != nil {
		return fmt.Errorf("broker: inbox guard of account %s: %w", g.account, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cfg := jetstream.StreamConfig{
		Name:        InboxGuardStream,
		Description: "procpool: keeps streams off users' inboxes; nothing is published here",
		Subjects:    g.subjects,
		Storage:     jetstream.MemoryStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     1,
		MaxBytes:    1024,
		MaxMsgSize:  1,
		NoAck:       true,
		Discard:     jetstream.DiscardOld,
	}
	_, err = js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		var st jetstream.Stream
		if st, err = js.Stream(ctx, InboxGuardStream); err == nil {
			have := st.CachedInfo().Config
			cfg.Subjects = slices.Compact(slices.Sorted(slices.Values(append(have.Subjects, g.subjects...))))
			cfg.Replicas = have.Replicas
			_, err = js.UpdateStream(ctx, cfg)
		}
	}
	if err != nil {
		return fmt.Errorf("broker: inbox guard of account %s: %w", g.account, err)
	}
	return nil
}
