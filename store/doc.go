// Package store persists Trunkline's configuration (customers, carriers, rate
// cards, routes, tokens) as JSON documents grouped in collections, behind the
// Store interface. The embedded backend keeps everything in one file of the
// data directory; a Redis backend shares it between nodes. Store knows no
// business rules: validation belongs to the packages that use the records.
//
// Runtime state sits behind interfaces of atomic operations: Credit (money:
// ledgers, balances, holds) and Limits (channel leases and call rates);
// Embedded implements each in files of its own. RedisLimits keeps Limits in
// Redis for a cluster (Lua scripts, the server's clock); the Redis Credit
// and configuration backends are still to come (issue 15).
package store
