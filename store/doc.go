// Package store persists Trunkline's configuration (customers, carriers, rate
// cards, routes, tokens) as JSON documents grouped in collections, behind the
// Store interface. The embedded backend keeps everything in one file of the
// data directory; a Redis backend shares it between nodes. Store knows no
// business rules: validation belongs to the packages that use the records.
package store
