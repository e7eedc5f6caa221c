package wire

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SyncBucket is the JetStream key-value bucket of package ipc's
// synchronization primitives (stream "KV_"+SyncBucket, subjects
// "$KV."+SyncBucket+".>"), one per account, so one per pool; the
// broker's role permissions name it. Workers keep their give-back records
// in it too (worker/givenback.go, keys "giveback.<hash>").
const SyncBucket = "PROCPOOL_SYNC"

// SyncBucketConfig is SyncBucket's configuration, whichever process makes
// it first (ipc's primitives, or a worker's first give-back record):
// one value per key, and the markers the broker leaves for keys whose TTL
// ran out kept for a minute, so that watchers of a lease see it end.
func SyncBucketConfig(replicas int, file bool) jetstream.KeyValueConfig {
	cfg := jetstream.KeyValueConfig{
		Bucket:         SyncBucket,
		Description:    "procpool's locks, semaphores, events, barriers, values and dicts; workers' give-back records",
		History:        1,
		Storage:        jetstream.MemoryStorage,
		Replicas:       replicas,
		LimitMarkerTTL: time.Minute,
	}
	if file {
		cfg.Storage = jetstream.FileStorage
	}
	return cfg
}
