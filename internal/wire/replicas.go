package wire

import "github.com/nats-io/nats.go"

// DefaultReplicas is a task stream's replica count when nobody asked for
// one: 3 on a cluster of 3 or more nodes (those the connection was given
// and those the server announced), else 1. Callers and workers use the
// same rule, so whichever creates the stream first creates it as the
// other would.
func DefaultReplicas(nc *nats.Conn) int {
	if nc != nil && nc.ConnectedClusterName() != "" && len(nc.Servers()) >= 3 {
		return 3
	}
	return 1
}
