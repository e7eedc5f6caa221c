//go:build !linux

package chaos

import "context"

// Run needs Linux.
func Run(ctx context.Context, cfg Config) (*Report, error) { return nil, ErrUnsupported }

// RunCaller needs Linux.
func RunCaller(ctx context.Context, args []string) error { return ErrUnsupported }
