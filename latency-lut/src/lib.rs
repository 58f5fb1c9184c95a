//! latency-lut
