package wire

// SyncBucket is the JetStream key-value bucket of package ipc's
// synchronization primitives (stream "KV_"+SyncBucket, subjects
// "$KV."+SyncBucket+".>"), one per account, so one per pool; the
// broker's role permissions name it. Workers keep their give-back records
// in it too (worker/givenback.go, keys "giveback.<hash>").
const SyncBucket = "PROCPOOL_SYNC"
