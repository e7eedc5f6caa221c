// Package integration holds procpool's process-level tests: real embedded
// brokers, real worker processes, real signals. Each fault test is named
// after its row of the reliability matrix (docs/reliability.md) and checks
// the row's expected behaviour plus the invariants: no lost task, no
// duplicate result, bounded attempts, recovery, no hang.
//
// The test binary is also the worker binary (TestMain calls worker.Main),
// and, with PROCPOOL_TEST_PARENT set, a parent program for the signal tests.
package integration
