package wire

import (
	"strings"
	"testing"
)

func TestConnUser(t *testing.T) {
	for _, tc := range []struct{ user, urls, want string }{
		{"w", "nats://u:pw@h:4222", "w"},
		{"", "nats://u:pw@h:4222,nats://v:pw@h2", "u"},
		{"", "nats://s3cret@h:4222", ""},
		{"", "nats://h:4222", ""},
	} {
		if got := ConnUser(tc.user, tc.urls); got != tc.want {
			t.Errorf("ConnUser(%q, %q) = %q, want %q", tc.user, tc.urls, got, tc.want)
		}
	}
}

func TestCheckUserName(t *testing.T) {
	if err := CheckUserName("c-d_1"); err != nil {
		t.Fatal(err)
	}
	err := CheckUserName("c.d")
	if err == nil || !strings.Contains(err.Error(), "no dots") || !strings.Contains(err.Error(), "_INBOX.c.d") {
		t.Fatalf("CheckUserName(c.d) = %v", err)
	}
}
