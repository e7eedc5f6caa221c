package broker

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/procpool/procpool/internal/wire"
)

// User is a named broker user. Give each role its own user: the pool's
// callers one set of permissions, remote workers a narrower one.
type User struct {
	// Name is the user name: letters, digits, '-' and '_', no dots (see
	// [Config.Users]).
	Name string
	// Password is the user's password; required.
	Password string
	// Permissions restrict what the user may publish and subscribe to.
	// Default nil: everything.
	Permissions *Permissions
}

// Permissions restrict a user's subjects. Subjects may use the NATS
// wildcards "*" and ">". A deny rule wins over an allow rule.
type Permissions struct {
	// Publish governs the subjects the user may publish to (and so the
	// JetStream API calls it may make, which are publishes on "$JS.API.>").
	Publish SubjectRules
	// Subscribe governs the subjects the user may subscribe to.
	Subscribe SubjectRules
	// AllowResponses lets the user publish one reply to the reply subject
	// of each request it received, whatever Publish says.
	AllowResponses bool
	// Account is the NATS account the user is placed in (accounts.go):
	// users of different accounts share no subject, stream or store.
	// CallerPermissions and WorkerPermissions set it to their pool's
	// ([PoolAccount]). Default "": the global account, with the
	// administrator and every user without one.
	Account string
}

// SubjectRules is an allow list and a deny list of subjects.
type SubjectRules struct {
	// Allow lists the subjects permitted. Default nil: all, except Deny.
	Allow []string
	// Deny lists the subjects refused, even when Allow matches them.
	Deny []string
}

// jsAdminDeny are JetStream API calls that act on the whole server or
// account; neither role needs them.
var jsAdminDeny = []string{
	"$JS.API.ACCOUNT.PURGE.>",
	"$JS.API.SERVER.>",
	"$JS.API.META.>",
}

// CallerPermissions returns the permissions recommended for a credential
// that submits work to the pool named pool (a program calling pool.New
// with WithBroker). Its users are placed in the pool's own NATS account
// ([PoolAccount]), so nothing it does reaches another pool: another
// pool's streams, consumers, stores and inboxes do not exist for it.
//
// Within the pool it may publish on the pool's subjects (tasks, control),
// on queues and pipes, the pool's value bucket, the primitives' bucket of
// package ipc, the JetStream API and acks;
// but it may not read, pull, delete or purge the tasks in the pool's task
// stream (other callers' tasks are there), nor list or read the bucket by
// sequence, nor touch the account's [InboxGuardStream], which keeps every
// caller's streams off the others' inboxes. It subscribes only to its own
// inboxes and to the workers' heartbeats, and replies once to requests it
// receives: not to the callers' progress reports (procpool.<pool>.calls),
// whose failures belong to other callers; the dashboard reads them with a
// worker's credentials.
//
// inboxPrefix is the caller connection's inbox prefix, set with
// nats.CustomInboxPrefix; it must be unique per caller and literal, for
// example "_INBOX.caller-1", so that workers can be kept off it.
func CallerPermissions(pool, inboxPrefix string) (Permissions, error) {
	if err := checkRole(pool, inboxPrefix); err != nil {
		return Permissions{}, err
	}
	tasks, bucket := "PROCPOOL_"+pool, "OBJ_procpool_"+pool
	deny := append([]string{
		// Other callers' tasks: nobody but the workers reads them.
		"$JS.API.STREAM.MSG.GET." + tasks,
		"$JS.API.DIRECT.GET." + tasks, "$JS.API.DIRECT.GET." + tasks + ".>",
		wire.ConsumerNextPrefix + tasks + ".>",
		"$JS.API.STREAM.DELETE." + tasks, "$JS.API.STREAM.PURGE." + tasks,
		"$JS.API.STREAM.MSG.DELETE." + tasks, "$JS.API.CONSUMER.DELETE." + tasks + ".>",
		// Other callers' stored values: read by name (unguessable) only.
		"$JS.API.STREAM.MSG.GET." + bucket, "$JS.API.DIRECT.GET." + bucket,
		// The guard that keeps streams off every caller's inboxes.
		"$JS.API.STREAM.CREATE." + InboxGuardStream, "$JS.API.STREAM.UPDATE." + InboxGuardStream,
		"$JS.API.STREAM.DELETE." + InboxGuardStream, "$JS.API.STREAM.PURGE." + InboxGuardStream,
	}, jsAdminDeny...)
	return Permissions{
		Account: PoolAccount(pool),
		Publish: SubjectRules{
			// $SRV.>: discovery requests (procpool status, nats micro).
			Allow: append([]string{"procpool." + pool + ".>", "procpool.queue.>", "procpool.pipe.>", "$JS.API.>", "$JS.ACK.>", "$SRV.>", syncSubjects}, valueSubjects()...),
			Deny:  deny,
		},
		Subscribe: SubjectRules{
			Allow: []string{inboxPrefix + ".>", "procpool." + pool + ".workers.>"},
		},
		AllowResponses: true,
	}, nil
}

// WorkerPermissions returns the permissions recommended for a remote
// worker of the pool named pool, placed like its callers in the pool's
// own NATS account ([PoolAccount]). It may publish on the pool's subjects,
// on queues and pipes, on reply inboxes ("_INBOX.>", where results go to
// callers), on the pool's value bucket, on the bucket of package ipc's
// primitives (locks, values, dicts...) and on acks; of the JetStream API
// only what serving needs: information, consumers (to fetch tasks and read
// queues and values), direct reads, and creating the pool's task stream,
// value bucket and primitives' bucket by their names. It can create no
// other stream (so none that would capture callers' inboxes), and delete, update,
// snapshot or restore none. It subscribes only to the pool's subjects, its
// own inboxes and discovery, so it cannot read a caller's results.
//
// inboxPrefix is the worker connection's inbox prefix, set with
// nats.CustomInboxPrefix; it must be literal and not a prefix of a
// caller's, for example "_INBOX.worker-7".
func WorkerPermissions(pool, inboxPrefix string) (Permissions, error) {
	if err := checkRole(pool, inboxPrefix); err != nil {
		return Permissions{}, err
	}
	tasks, bucket := "PROCPOOL_"+pool, "OBJ_procpool_"+pool
	allow := []string{
		"procpool." + pool + ".>", "procpool.queue.>", "procpool.pipe.>", "_INBOX.>", "$JS.ACK.>",
		"$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
		"$JS.API.STREAM.CREATE." + tasks, "$JS.API.STREAM.CREATE." + bucket,
		// package ipc's locks, semaphores, events, barriers, values, dicts
		"$JS.API.STREAM.CREATE." + syncStream, syncSubjects,
		"$JS.API.CONSUMER.>", "$JS.API.DIRECT.GET.>", "$JS.API.STREAM.MSG.GET.*",
		// A queue item read by a worker has its stored value deleted.
		"$JS.API.STREAM.PURGE.*",
	}
	return Permissions{
		Account: PoolAccount(pool),
		Publish: SubjectRules{
			Allow: append(allow, valueSubjects()...),
			// The pool's shared consumer stays: only callers' tools remove it.
			Deny: append([]string{"$JS.API.CONSUMER.DELETE." + tasks + ".>", "$JS.API.STREAM.PURGE." + tasks}, jsAdminDeny...),
		},
		Subscribe: SubjectRules{
			// $SRV.>: every worker answers discovery (nats micro ls|info|stats).
			Allow: []string{inboxPrefix + ".>", "procpool." + pool + ".>", "$SRV.>"},
		},
	}, nil
}

// syncStream and syncSubjects are the stream and the subjects of the
// key-value bucket of package ipc's primitives (Lock, Semaphore, Event,
// Barrier, Value, Dict), one per account: both roles use them, and a
// worker may create the bucket, by its name, like the pool's two others.
const (
	syncStream   = "KV_" + wire.SyncBucket
	syncSubjects = "$KV." + wire.SyncBucket + ".>"
)

// valueSubjects are what a role publishes to use the object store
// buckets of its pool's account, where values too large for a message are
// stored (the pool's bucket, and one per queue or pipe that carried a large
// item): chunks and metadata, and the flow-control answers of the ordered
// consumer that reads an object back. Inside the pool's account every
// bucket is the pool's own.
func valueSubjects() []string { return []string{"$O.>", "$JS.FC.>"} }

func checkRole(pool, inboxPrefix string) error {
	if pool == "" || strings.ContainsAny(pool, ".*> \t\r\n") {
		return fmt.Errorf("%w: pool name %q must be one literal subject token", ErrInvalidConfig, pool)
	}
	if !server.IsValidLiteralSubject(inboxPrefix) || inboxPrefix == "_INBOX" {
		return fmt.Errorf("%w: inbox prefix %q must be a literal subject narrower than _INBOX", ErrInvalidConfig, inboxPrefix)
	}
	return nil
}

// validateAuth checks the authentication fields of cfg.
func (cfg *Config) validateAuth() error {
	if (cfg.User == "") != (cfg.Password == "") {
		return fmt.Errorf("%w: user and password go together", ErrInvalidConfig)
	}
	if cfg.Token != "" && (cfg.User != "" || len(cfg.Users) > 0) {
		return fmt.Errorf("%w: token and user/password authentication are exclusive", ErrInvalidConfig)
	}
	if strings.ContainsAny(cfg.Token, " \t\r\n") {
		return fmt.Errorf("%w: token contains white space", ErrInvalidConfig)
	}
	if cfg.User != "" && !validUserName(cfg.User) {
		return fmt.Errorf("%w: user name %q: %s", ErrInvalidConfig, cfg.User, userNameRule)
	}
	seen := map[string]bool{cfg.User: true}
	if cfg.User == "" {
		seen[defaultUser] = true
	}
	for i, u := range cfg.Users {
		switch {
		case !validUserName(u.Name):
			return fmt.Errorf("%w: users[%d]: name %q: %s", ErrInvalidConfig, i, u.Name, userNameRule)
		case seen[u.Name]:
			return fmt.Errorf("%w: users[%d]: name %q used twice (or by the administrator)", ErrInvalidConfig, i, u.Name)
		case u.Password == "":
			return fmt.Errorf("%w: users[%d] %q: no password", ErrInvalidConfig, i, u.Name)
		}
		seen[u.Name] = true
		if err := u.Permissions.validate(); err != nil {
			return fmt.Errorf("%w: users[%d] %q: %v", ErrInvalidConfig, i, u.Name, err)
		}
	}
	return nil
}

func (p *Permissions) validate() error {
	if p == nil {
		return nil
	}
	if p.Account != "" && !accountNameRE.MatchString(p.Account) {
		return fmt.Errorf("account %q: want 1-80 of [A-Za-z0-9_-]", p.Account)
	}
	for _, list := range [][]string{p.Publish.Allow, p.Publish.Deny, p.Subscribe.Allow, p.Subscribe.Deny} {
		for _, subj := range list {
			if !server.IsValidSubject(subj) {
				return fmt.Errorf("invalid subject %q in permissions", subj)
			}
		}
	}
	return nil
}

var accountNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// defaultUser is the administrator's name when Config.User is empty.
const defaultUser = "procpool"

// applyAuth sets the authorization options and the credentials Connect
// uses. Without explicit authorization, a ConfigFile's is kept.
func (s *Server) applyAuth(opts *server.Options, cfg *Config) {
	explicit := cfg.Token != "" || cfg.User != "" || len(cfg.Users) > 0
	fromFile := opts.Username != "" || opts.Authorization != "" || len(opts.Users) > 0 ||
		len(opts.Nkeys) > 0 || len(opts.TrustedKeys) > 0 || len(opts.TrustedOperators) > 0
	if !explicit && fromFile {
		s.user, s.password, s.token = opts.Username, opts.Password, opts.Authorization
		return
	}
	opts.Username, opts.Password, opts.Authorization = "", "", ""
	opts.Users, opts.Nkeys, opts.NoAuthUser = nil, nil, ""
	if cfg.Token != "" {
		s.token = cfg.Token
		opts.Authorization = cfg.Token
		return
	}
	s.user, s.password = cfg.User, cfg.Password
	if s.user == "" {
		s.user, s.password = defaultUser, randomHex(16)
		s.generated = len(cfg.Users) == 0
	}
	if len(cfg.Users) == 0 {
		opts.Username, opts.Password = s.user, s.password
		return
	}
	// nats-server ignores the single user when there is a users list, so
	// the administrator joins the list, unrestricted.
	opts.Users = append(opts.Users, &server.User{Username: s.user, Password: s.password})
	for _, u := range cfg.Users {
		su := &server.User{
			Username:    u.Name,
			Password:    u.Password,
			Permissions: u.Permissions.server(),
		}
		if u.Permissions != nil && u.Permissions.Account != "" {
			su.Account = accountFor(opts, u.Permissions.Account) // accounts.go
			if !slices.Contains(s.accounts, u.Permissions.Account) {
				s.accounts = append(s.accounts, u.Permissions.Account)
			}
		}
		opts.Users = append(opts.Users, su)
	}
}

// server maps p onto nats-server's permissions.
func (p *Permissions) server() *server.Permissions {
	if p == nil {
		return nil
	}
	rules := func(r SubjectRules) *server.SubjectPermission {
		if len(r.Allow) == 0 && len(r.Deny) == 0 {
			return nil
		}
		return &server.SubjectPermission{
			Allow: append([]string(nil), r.Allow...),
			Deny:  append([]string(nil), r.Deny...),
		}
	}
	sp := &server.Permissions{Publish: rules(p.Publish), Subscribe: rules(p.Subscribe)}
	if p.AllowResponses {
		sp.Response = &server.ResponsePermission{MaxMsgs: 1}
	}
	return sp
}
