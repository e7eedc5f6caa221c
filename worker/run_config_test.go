package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Run with processes refuses the Config fields it cannot hand to them,
// naming each, instead of ignoring them; it checks before dialling.
func TestRunRefusesFieldsProcessesCannotGet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, cfg := range map[string]Config{
		"Registry":         {URL: "nats://127.0.0.1:1", Registry: NewRegistry()},
		"Init":             {URL: "nats://127.0.0.1:1", Init: func(context.Context) error { return nil }},
		"ID":               {URL: "nats://127.0.0.1:1", ID: "w1"},
		"GiveBackAfter":    {URL: "nats://127.0.0.1:1", GiveBackAfter: time.Second},
		"HardTimeoutGrace": {URL: "nats://127.0.0.1:1", HardTimeoutGrace: time.Second},
	} {
		err := Run(ctx, cfg, 2)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Run = %v, want ErrInvalidConfig naming %s", name, err, name)
		}
	}
	// The default registry is what the processes serve: allowed (the dial
	// to a closed port is what fails then).
	err := Run(ctx, Config{URL: "nats://127.0.0.1:1", Registry: DefaultRegistry()}, 2)
	if err == nil || errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Run with the default registry = %v, want a connect error", err)
	}
}
