#![no_main]
// Placeholder until the crate lands.
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
