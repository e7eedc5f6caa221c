package pool

import "errors"

// Stand-ins for the sentinels the real pool package defines; this file is
// deleted when queue.go and pipe.go move into pool/.

// ErrClosed is returned by calls on a closed handle.
var ErrClosed = errors.New("pool: closed")

// ErrInvalidOption is wrapped by errors from invalid options.
var ErrInvalidOption = errors.New("pool: invalid option")

// ErrInvalidArgument is wrapped by errors from invalid arguments.
var ErrInvalidArgument = errors.New("pool: invalid argument")
