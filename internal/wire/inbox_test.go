package wire

import "testing"

func TestInboxPrefix(t *testing.T) {
	tests := []struct {
		name, user, urls, want string
	}{
		{"explicit user", "caller-1", "nats://h:4222", "_INBOX.caller-1"},
		{"explicit user wins over the URL's", "w", "nats://u:pw@h:4222", "_INBOX.w"},
		{"user and password in the URL", "", "nats://u-x:pw@h:4222,nats://v:pw@h2:4222", "_INBOX.u-x"},
		// A dotted user's prefix would lie inside another user's: _INBOX.c holds _INBOX.c.d.
		{"dotted user", "c.d", "", ""},
		{"dotted user in the URL", "", "nats://c.d:pw@h:4222", ""},
		{"token in the URL is not a user", "", "nats://s3cret@h:4222", ""},
		{"no credentials", "", "nats://h:4222", ""},
		{"user that cannot be a subject", "a b", "", ""},
		{"wildcard user", "*", "", ""},
		{"empty token", "a..b", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := InboxPrefix(tc.user, tc.urls); got != tc.want {
				t.Fatalf("InboxPrefix(%q, %q) = %q, want %q", tc.user, tc.urls, got, tc.want)
			}
		})
	}
}
