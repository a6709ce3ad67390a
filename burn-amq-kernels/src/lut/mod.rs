//! Lookup-table products (see the crate docs).
