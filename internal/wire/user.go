package wire

import (
	"fmt"
	"net/url"
	"strings"
)

// ConnUser is the user a connection authenticates as: user when given,
// else the user of the first URL of the comma-separated list urls when
// that URL also carries a password (nats://user:pw@host; nats://TOKEN@host
// is a token, not a user); "" without one.
func ConnUser(user, urls string) string {
	if user != "" {
		return user
	}
	first, _, _ := strings.Cut(urls, ",")
	if u, err := url.Parse(strings.TrimSpace(first)); err == nil && u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			return u.User.Username()
		}
	}
	return ""
}

// CheckUserName refuses a user name with a dot: a user's connections use
// the inbox prefix "_INBOX.<user>" (InboxPrefix), and user c's _INBOX.c
// would hold user c.d's _INBOX.c.d and receive its results.
func CheckUserName(user string) error {
	if strings.Contains(user, ".") {
		return fmt.Errorf("user name %q: no dots: a user's inbox prefix is _INBOX.<user>, and user c's _INBOX.c would hold user c.d's _INBOX.c.d", user)
	}
	return nil
}
