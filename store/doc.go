// Package store persists Trunkline's configuration (customers, carriers, rate
// cards, routes, tokens) as JSON documents grouped in collections, behind the
// Store interface. The embedded backend keeps everything in one file of the
// data directory; a Redis backend shares it between nodes. Store knows no
// business rules: validation belongs to the packages that use the records.
//
// Runtime state sits behind interfaces of atomic operations: Credit (money:
// ledgers, balances, holds) and Limits (channel leases and call rates);
// Embedded implements each in files of its own. RedisLimits and RedisCredit
// keep them in Redis for a cluster (one Lua script per operation, the
// server's clock; money added by Redis's integer commands, never as a Lua
// number); the Redis configuration backend is still to come.
package store
