package broker

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// loadConfigFile reads a nats-server configuration file. [Start] applies
// the Config's explicit fields on top of it.
func loadConfigFile(path string) (*server.Options, error) {
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: config file: %v", ErrInvalidConfig, err)
	}
	// The file's users get inbox prefixes too: the same rule as Config's.
	for _, u := range opts.Users {
		if strings.Contains(u.Username, ".") {
			return nil, fmt.Errorf("%w: config file %s: user %q: %s", ErrInvalidConfig, path, u.Username, userNameRule)
		}
	}
	return opts, nil
}
