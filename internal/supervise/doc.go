// Package supervise runs and watches local worker processes for a pool or
// a standalone worker binary: it re-executes the program's own binary with
// the worker marker set, hands each child its configuration over stdin
// (never argv), follows its status pipe, replaces it when it exits (with a
// back-off when it crash-loops), and gives back at once the task a dead
// child was holding. Children are in their own process group and die with
// their parent (PR_SET_PDEATHSIG).
package supervise
