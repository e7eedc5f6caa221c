package wire

import (
	"net/url"
	"regexp"
	"strings"
)

// userTokens matches a user name that can stand in a subject: one or more
// tokens of letters, digits, '-' and '_', separated by single dots.
var userTokens = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// InboxPrefix is the inbox prefix of a connection authenticated as a named
// user: "_INBOX.<user>", so that a broker can confine each user to its own
// inboxes (see broker.CallerPermissions and broker.WorkerPermissions). The
// user is the one given explicitly, else the user of the first URL of the
// comma-separated list urls when that URL also carries a password
// (nats://user:pw@host; nats://TOKEN@host is a token, not a user). It is
// "" (nats.go's default "_INBOX") without a user, or when the user name
// cannot be part of a subject.
func InboxPrefix(user, urls string) string {
	if user == "" {
		first, _, _ := strings.Cut(urls, ",")
		if u, err := url.Parse(strings.TrimSpace(first)); err == nil && u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				user = u.User.Username()
			}
		}
	}
	if user == "" || !userTokens.MatchString(user) {
		return ""
	}
	return "_INBOX." + user
}
