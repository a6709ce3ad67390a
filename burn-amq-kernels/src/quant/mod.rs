//! Quantizers (see the crate docs).
