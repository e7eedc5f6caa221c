package secrets

import (
	"fmt"
	"strings"
)

// Given is a secret given on the command line: the flag that carried it
// and the environment variable to use instead.
type Given struct {
	Flag, Env string
}

// ArgvWarning is the one line a command prints to stderr when secrets
// came on its command line, or "" when none did. It says why (argv is
// readable by every user of the machine) and what to set instead.
func ArgvWarning(prog string, given []Given) string {
	if len(given) == 0 {
		return ""
	}
	var flags, envs []string
	for _, g := range given {
		flags = append(flags, g.Flag)
		envs = append(envs, g.Env)
	}
	return fmt.Sprintf("%s: warning: %s on the command line: every user of this machine can read a process's arguments (ps, /proc/PID/cmdline); set %s in the environment instead",
		prog, strings.Join(flags, ", "), strings.Join(envs, "; "))
}
