package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
)

// TestDottedUserNamesRefused is attack row 12: a user's connections use
// the inbox prefix _INBOX.<user>, so with users "c" and "c.d" the first
// one's _INBOX.c.> would hold the second one's inboxes and receive its
// results. Start refuses dotted user names, from a Config or a config
// file, naming the rule.
func TestDottedUserNamesRefused(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "users.conf")
	if err := os.WriteFile(conf, []byte(`authorization { users = [ {user: c, password: p1}, {user: "c.d", password: p2} ] }`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  broker.Config
	}{
		{"users c and c.d", broker.Config{Users: []broker.User{{Name: "c", Password: "p1"}, {Name: "c.d", Password: "p2"}}}},
		{"administrator", broker.Config{User: "admin.x", Password: "p"}},
		{"config file users", broker.Config{ConfigFile: conf}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := startRefused(t, ctx, tc.cfg, "a dotted user name")
			if !strings.Contains(err.Error(), "no dots") || !strings.Contains(err.Error(), "_INBOX.<user>") {
				t.Fatalf("error does not name the rule: %v", err)
			}
		})
	}
	t.Run("c and c-d", func(t *testing.T) {
		start(t, broker.Config{Users: []broker.User{{Name: "c", Password: "p1"}, {Name: "c-d", Password: "p2"}}})
	})
}
