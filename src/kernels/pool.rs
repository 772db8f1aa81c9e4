//! Max pool, average pool (optionally counting padded zeros), global average pool.
