// Package secrets keeps procpool's credentials out of the two places other
// programs read them: the command line, which every user of the machine
// can read (ps, /proc/PID/cmdline), and the environment, which every
// process a command starts inherits, task code included. Worker processes
// get their credentials over stdin instead (internal/spawn).
package secrets
