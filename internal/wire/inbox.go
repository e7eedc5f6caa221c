package wire

import "regexp"

// userToken matches a user name that can be an inbox prefix's last token:
// letters, digits, '-' and '_'. No dots: see CheckUserName.
var userToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// InboxPrefix is the inbox prefix of a connection authenticated as a named
// user: "_INBOX.<user>", so that a broker can confine each user to its own
// inboxes (see broker.CallerPermissions and broker.WorkerPermissions). The
// user is the one given explicitly, else the user of the first URL of the
// comma-separated list urls when that URL also carries a password
// (nats://user:pw@host; nats://TOKEN@host is a token, not a user). It is
// "" (nats.go's default "_INBOX") without a user, or when the user name
// cannot be one subject token (a dotted name would overlap another user's
// prefix).
func InboxPrefix(user, urls string) string {
	user = ConnUser(user, urls)
	if user == "" || !userToken.MatchString(user) {
		return ""
	}
	return "_INBOX." + user
}
