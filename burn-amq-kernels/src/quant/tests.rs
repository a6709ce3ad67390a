//! Unit tests of the quantizers (internal: tiers compared directly).
