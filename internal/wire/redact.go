package wire

import (
	"net/url"
	"strings"
)

// RedactURLs drops credentials from each URL of a comma-separated list,
// for logs and messages.
func RedactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, part := range parts {
		if u, err := url.Parse(strings.TrimSpace(part)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
