//! Popcount products (see the crate docs).
