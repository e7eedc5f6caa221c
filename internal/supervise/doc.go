// Package supervise runs and watches local worker processes for a pool or
// a standalone worker binary: it re-executes the program's own binary with
// the worker marker set, hands each child its configuration over stdin
// (never argv), follows its status pipe, replaces it when it exits (with a
// back-off when it crash-loops), and gives back at once the task a dead
// child was holding.
//
// Children die with their parent on every platform: the parent holds each
// child's stdin open for the child's life (control.go), and a child exits
// when it reads end of file there, which the kernel causes when the parent
// dies however it dies. On top of that, Linux children have
// PR_SET_PDEATHSIG (attr_linux.go), and Windows children are in a job
// object that Windows ends with its last handle (group_windows.go).
// Children are in their own process group (a job object on Windows), which
// a kill ends whole. The files named *_unix.go, *_linux.go and
// *_windows.go hold what differs by platform, one concept each.
package supervise
