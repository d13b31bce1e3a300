//! `find_go_tls_in` never panics: real Go and non-Go ELF files with bytes
//! flipped where the parser looks (headers, tables, build info, the
//! functions' code), truncated, or replaced by noise. A fixed-seed
//! generator keeps failures reproducible.

#[path = "go/go_build.rs"]
mod go_build;

use ks_tls_trace::go::find_go_tls_in;
use object::{Object, ObjectSection, ObjectSymbol};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// File ranges worth corrupting: ELF header, program and section header
/// tables, and the sections go.rs reads.
fn hot_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut r = vec![(0, 64)];
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    let u16_at = |o: usize| u16::from_le_bytes(bytes[o..o + 2].try_into().unwrap()) as usize;
    r.push((u64_at(0x20), u16_at(0x36) * u16_at(0x38))); // program headers
    r.push((u64_at(0x28), u16_at(0x3a) * u16_at(0x3c))); // section headers
    let elf = object::File::parse(bytes).unwrap();
    for name in [
        ".go.buildinfo",
        ".gopclntab",
        ".symtab",
        ".strtab",
        ".shstrtab",
    ] {
        if let Some((off, len)) = elf.section_by_name(name).and_then(|s| s.file_range()) {
            r.push((off as usize, (len as usize).min(1 << 16)));
        }
    }
    for s in elf.symbols() {
        if matches!(
            s.name(),
            Ok("crypto/tls.(*Conn).Write" | "crypto/tls.(*Conn).Read")
        ) {
            let text = elf.section_by_index(s.section_index().unwrap()).unwrap();
            let off = text.file_range().unwrap().0 + (s.address() - text.address());
            r.push((off as usize, s.size() as usize));
        }
    }
    r.retain(|&(o, l)| l > 0 && o + l <= bytes.len());
    r
}

fn mutate_and_run(original: &[u8], rounds: usize, rng: &mut Rng) -> usize {
    let hot = hot_ranges(original);
    let mut buf = original.to_vec();
    let mut errors = 0;
    for round in 0..rounds {
        buf.clear();
        buf.extend_from_slice(original);
        let (off, len) = hot[round % hot.len()];
        for _ in 0..1 + rng.below(8) {
            let at = off + rng.below(len);
            buf[at] = match rng.below(4) {
                0 => 0,
                1 => 0xff,
                2 => buf[at] ^ (1 << rng.below(8)),
                _ => rng.next() as u8,
            };
        }
        if rng.below(8) == 0 {
            buf.truncate(rng.below(original.len()));
        }
        // Must return, whatever it returns.
        errors += usize::from(find_go_tls_in(&buf).is_err());
    }
    errors
}

#[test]
fn mutated_go_binary_never_panics() {
    let bin = go_build::build("tls_min", "tls_min", &[], &[]);
    let original = std::fs::read(bin).unwrap();
    assert!(find_go_tls_in(&original).unwrap().is_some());
    let mut rng = Rng(0x6b73_2d67_6f2d_746c);
    let errors = mutate_and_run(&original, 1500, &mut rng);
    // The corruption is noticed at least sometimes (otherwise it was not applied).
    assert!(errors > 0);
}

#[test]
fn mutated_non_go_binary_never_panics() {
    let original = std::fs::read("/bin/true").unwrap();
    assert!(find_go_tls_in(&original).unwrap().is_none());
    let mut rng = Rng(0x1234_5678_9abc_def1);
    mutate_and_run(&original, 400, &mut rng);
}

#[test]
fn noise_never_panics() {
    let mut rng = Rng(42);
    for round in 0..2000 {
        let len = rng.below(4096);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if round % 2 == 0 && b.len() >= 7 {
            // An ELF64 little-endian header start, so parsing goes further.
            b[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        }
        let _ = find_go_tls_in(&b);
    }
}
