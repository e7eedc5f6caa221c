// Package examples holds runnable Go ports of the five Python
// multiprocessing programs that motivated procpool, one per directory:
//
//	go run ./examples/process      # Process: start, join, pids
//	go run ./examples/returnvalue  # Process return values, which Python cannot give
//	go run ./examples/queue        # a Queue shared by three processes
//	go run ./examples/pipe         # a Pipe written by three processes
//	go run ./examples/pool         # Pool: Map, IMap, ApplyAsync with Get(timeout)
//
// and one beyond them:
//
//	go run ./examples/lock         # a Lock and a Value shared by processes; a holder killed mid-section
//
// Each program calls worker.Main() first in main and registers its tasks
// at package level, so that the copies of itself that procpool starts as
// worker processes know them. examples_test.go runs all five, lock_test.go the lock.
package examples
