//! Integration tests of burn-amq (one binary: linking Burn once keeps the suite fast).

mod common;
mod convert;
mod files;
mod layers;
mod packed;
mod packed_gru;
mod quantizer;
mod ste;
mod training;
