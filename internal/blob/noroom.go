package blob

import (
	"errors"
	"syscall"

	"github.com/procpool/procpool/internal/wire"
)

// NoRoom reports whether err says the value store is full: JetStream's
// insufficient resources, memory or storage (its limits), or a full disk.
func NoRoom(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || wire.IsNoRoom(err)
}
