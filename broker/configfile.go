package broker

import (
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
)

// loadConfigFile reads a nats-server configuration file. [Start] applies
// the Config's explicit fields on top of it.
func loadConfigFile(path string) (*server.Options, error) {
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: config file: %v", ErrInvalidConfig, err)
	}
	return opts, nil
}
