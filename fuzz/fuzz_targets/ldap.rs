#![no_main]
//! LDAP parser (in progress).
libfuzzer_sys::fuzz_target!(|_data: &[u8]| {});
