//! Go crypto/tls: where to probe.
//!
//! Go programs do not link OpenSSL; their TLS plaintext passes through
//! `crypto/tls.(*Conn).Write` and `crypto/tls.(*Conn).Read`, compiled into
//! the (usually static) executable. This module finds, in the executable's
//! ELF file, the file offsets a uprobe needs:
//!
//! * the entry of both functions (arguments are read there: Go ≥ 1.17 on
//!   amd64 passes them in registers, receiver in RAX, `b.ptr` in RBX,
//!   `b.len` in RCX);
//! * every `RET` instruction of both functions, found by decoding the whole
//!   function with iced-x86. Go programs must not get uretprobes: the kernel
//!   replaces the return address on the stack, and the Go runtime moves
//!   and copies goroutine stacks (and walks them for GC and tracebacks), so
//!   a hijacked return address crashes the program. A plain uprobe on each
//!   `RET` sees the return values in registers (n in RAX) instead.
//!
//! The Go version comes from the `.go.buildinfo` section (falling back to the
//! `runtime.buildVersion` string); binaries older than Go 1.17 use the stack
//! ABI, which the BPF side (`bpf/go_tls.h`) does not read, and are refused.
//!
//! Pure analysis: no eBPF, no `unsafe`, and no panic on any input.

use std::path::Path;

use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use object::{Architecture, Object, ObjectSection, ObjectSegment, ObjectSymbol, SymbolKind};

/// Symbol of the function that encrypts and sends plaintext.
pub const WRITE_SYMBOL: &str = "crypto/tls.(*Conn).Write";
/// Symbol of the function that receives and decrypts plaintext.
pub const READ_SYMBOL: &str = "crypto/tls.(*Conn).Read";

/// The first Go release with the register-based calling convention on amd64.
pub const MIN_GO_VERSION: (u32, u32) = (1, 17);

/// Magic at the start of the `.go.buildinfo` blob.
const BUILDINFO_MAGIC: &[u8; 14] = b"\xff Go buildinf:";

/// Where to put the uprobes for one Go function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFunc {
    /// The ELF symbol, e.g. `crypto/tls.(*Conn).Write`.
    pub symbol: String,
    /// File offset of the first instruction (the uprobe offset for the entry probe).
    pub entry: u64,
    /// File offsets of every `RET` instruction of the function, ascending.
    pub returns: Vec<u64>,
    /// Virtual address of the function (as linked; add the load bias for PIE).
    pub address: u64,
    /// Length of the function in bytes.
    pub size: u64,
}

/// The probe points of a Go executable that links crypto/tls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoTlsProbes {
    /// The Go release that built the binary, e.g. `go1.19.8`, when it could be read.
    /// `None` means no version string was found and the register ABI was
    /// recognised from the runtime's symbols instead.
    pub go_version: Option<String>,
    /// `crypto/tls.(*Conn).Write`.
    pub write: GoFunc,
    /// `crypto/tls.(*Conn).Read`.
    pub read: GoFunc,
}

/// BPF program (bpf/go_tls.h) for the entry of `(*Conn).Write`.
pub const PROG_WRITE_ENTRY: &str = "go_tls_write_entry";
/// BPF program for every RET of `(*Conn).Write`.
pub const PROG_WRITE_RET: &str = "go_tls_write_ret";
/// BPF program for the entry of `(*Conn).Read`.
pub const PROG_READ_ENTRY: &str = "go_tls_read_entry";
/// BPF program for every RET of `(*Conn).Read`.
pub const PROG_READ_RET: &str = "go_tls_read_ret";

impl GoTlsProbes {
    /// Every uprobe to attach for this binary: the bpf/go_tls.h program
    /// name and the file offset, entries first.
    pub fn attach_points(&self) -> Vec<(&'static str, u64)> {
        let mut v = vec![
            (PROG_WRITE_ENTRY, self.write.entry),
            (PROG_READ_ENTRY, self.read.entry),
        ];
        v.extend(self.write.returns.iter().map(|&o| (PROG_WRITE_RET, o)));
        v.extend(self.read.returns.iter().map(|&o| (PROG_READ_RET, o)));
        v
    }
}

/// Why a file that links crypto/tls cannot be probed (or could not be read at all).
#[derive(Debug, thiserror::Error)]
pub enum GoError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a well-formed ELF file.
    #[error("not a readable ELF file: {0}")]
    Elf(String),
    /// The binary links crypto/tls but is not x86-64 (arm64 and others are not supported yet).
    #[error("Go crypto/tls probes support only x86-64 ELF, this binary is {0}")]
    UnsupportedArch(String),
    /// The binary was built by a Go release older than 1.17, which passes
    /// arguments on the stack.
    #[error(
        "{0} uses the stack-based calling convention; Go crypto/tls probes need Go 1.17 or later"
    )]
    GoTooOld(String),
    /// Neither a version string nor the register-ABI runtime was found.
    #[error("links crypto/tls but the Go version and calling convention could not be determined")]
    UnknownAbi,
    /// crypto/tls is linked in but the symbol table was stripped (`-ldflags=-s`);
    /// finding functions through `.gopclntab` is not implemented.
    #[error("Go binary stripped of its symbol table (-ldflags=-s): {0} cannot be located")]
    Stripped(&'static str),
    /// The symbol, its size or its code is inconsistent with the file.
    #[error("{symbol}: {reason}")]
    BadFunction {
        /// The function.
        symbol: String,
        /// What is wrong.
        reason: String,
    },
}

/// Reads `path` and looks for Go crypto/tls probe points, see [`find_go_tls_in`].
pub fn find_go_tls(path: &Path) -> Result<Option<GoTlsProbes>, GoError> {
    let bytes = std::fs::read(path).map_err(|source| GoError::Io {
        path: path.display().to_string(),
        source,
    })?;
    find_go_tls_in(&bytes)
}

/// Looks for Go crypto/tls probe points in an ELF image.
///
/// `Ok(None)`: the file is an ELF but does not link Go's crypto/tls (not a Go
/// program, or a Go program without TLS). `Err`: not an ELF file, or a Go
/// program with TLS that cannot be probed (see [`GoError`]).
pub fn find_go_tls_in(elf_bytes: &[u8]) -> Result<Option<GoTlsProbes>, GoError> {
    let file = object::File::parse(elf_bytes).map_err(|e| GoError::Elf(e.to_string()))?;
    if file.format() != object::BinaryFormat::Elf {
        return Err(GoError::Elf(format!("{:?} file", file.format())));
    }

    let mut write_sym = None;
    let mut read_sym = None;
    let mut build_version_sym = None;
    let mut spill_args = false;
    let mut text_starts = Vec::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name() else { continue };
        if sym.kind() == SymbolKind::Text {
            text_starts.push(sym.address());
        }
        match name {
            WRITE_SYMBOL => write_sym = Some((sym.address(), sym.size())),
            READ_SYMBOL => read_sym = Some((sym.address(), sym.size())),
            "runtime.buildVersion" => build_version_sym = Some(sym.address()),
            // Added with the register ABI (Go 1.17) to spill argument registers.
            // (named `runtime.spillArgs.abi0` since it is an assembly function).
            "runtime.spillArgs" | "runtime.spillArgs.abi0" => spill_args = true,
            _ => {}
        }
    }

    let (write_sym, read_sym) = match (write_sym, read_sym) {
        (Some(w), Some(r)) => (w, r),
        _ => {
            if file.symbol_table().is_none() && links_go_tls_by_name(&file, elf_bytes) {
                return Err(GoError::Stripped(WRITE_SYMBOL));
            }
            return Ok(None);
        }
    };

    if file.architecture() != Architecture::X86_64 {
        return Err(GoError::UnsupportedArch(format!(
            "{:?}",
            file.architecture()
        )));
    }

    let go_version = buildinfo_version(&file, elf_bytes)
        .or_else(|| build_version_sym.and_then(|a| read_go_string(&file, elf_bytes, a, 8, false)));
    match go_version.as_deref().and_then(parse_go_version) {
        Some(v) if v < MIN_GO_VERSION => {
            return Err(GoError::GoTooOld(go_version.unwrap_or_default()));
        }
        Some(_) => {}
        None if spill_args => {}
        None => return Err(GoError::UnknownAbi),
    }

    text_starts.sort_unstable();
    text_starts.dedup();
    let write = locate(&file, elf_bytes, WRITE_SYMBOL, write_sym, &text_starts)?;
    let read = locate(&file, elf_bytes, READ_SYMBOL, read_sym, &text_starts)?;
    Ok(Some(GoTlsProbes {
        go_version,
        write,
        read,
    }))
}

/// Whether a stripped Go binary still names crypto/tls.(*Conn).Write in its
/// function name table (`.gopclntab`, or anywhere in the file when the
/// section headers are gone too).
fn links_go_tls_by_name(file: &object::File<'_>, bytes: &[u8]) -> bool {
    let needle = b"crypto/tls.(*Conn).Write\0";
    let hay = file
        .section_by_name(".gopclntab")
        .and_then(|s| s.data().ok())
        .unwrap_or(bytes);
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Finds the function's code and decodes it for `RET`s.
fn locate(
    file: &object::File<'_>,
    bytes: &[u8],
    symbol: &str,
    (address, size): (u64, u64),
    text_starts: &[u64],
) -> Result<GoFunc, GoError> {
    let bad = |reason: String| GoError::BadFunction {
        symbol: symbol.to_string(),
        reason,
    };
    // Go's symbol table carries sizes; if one is missing, the function ends
    // where the next one starts.
    let size = if size != 0 {
        size
    } else {
        let next = text_starts.iter().find(|&&a| a > address);
        next.map(|n| n - address)
            .ok_or_else(|| bad("symbol has no size and no following function".into()))?
    };
    if size > 1 << 24 {
        return Err(bad(format!("implausible size {size}")));
    }
    let entry = vaddr_to_offset(file, address, size).ok_or_else(|| {
        bad(format!(
            "address {address:#x}+{size} is not inside a loaded segment's file bytes"
        ))
    })?;
    let start = usize::try_from(entry).map_err(|_| bad("offset too large".into()))?;
    let end = start
        .checked_add(size as usize)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("code runs past the end of the file".into()))?;
    let code = &bytes[start..end];

    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    let mut returns = Vec::new();
    for insn in &mut decoder {
        if insn.is_invalid() {
            return Err(bad(format!("undecodable instruction at {:#x}", insn.ip())));
        }
        if matches!(insn.mnemonic(), Mnemonic::Ret | Mnemonic::Retf) {
            returns.push(entry + (insn.ip() - address));
        }
    }
    if returns.is_empty() {
        return Err(bad("no RET instruction".into()));
    }
    Ok(GoFunc {
        symbol: symbol.to_string(),
        entry,
        returns,
        address,
        size,
    })
}

/// File offset of `[vaddr, vaddr+len)` through the PT_LOAD segment whose file
/// bytes contain it.
fn vaddr_to_offset(file: &object::File<'_>, vaddr: u64, len: u64) -> Option<u64> {
    let end = vaddr.checked_add(len)?;
    file.segments().find_map(|seg| {
        let (off, filesz) = seg.file_range();
        let seg_start = seg.address();
        let seg_end = seg_start.checked_add(filesz)?;
        (vaddr >= seg_start && end <= seg_end).then(|| off.checked_add(vaddr - seg_start))?
    })
}

/// The bytes at `[vaddr, vaddr+len)` of the file, if they are file-backed.
fn read_vaddr<'a>(
    file: &object::File<'_>,
    bytes: &'a [u8],
    vaddr: u64,
    len: u64,
) -> Option<&'a [u8]> {
    let off = usize::try_from(vaddr_to_offset(file, vaddr, len)?).ok()?;
    bytes.get(off..off.checked_add(usize::try_from(len).ok()?)?)
}

fn read_ptr(b: &[u8], ptr_size: usize, big_endian: bool) -> Option<u64> {
    let b = b.get(..ptr_size)?;
    Some(match (ptr_size, big_endian) {
        (4, false) => u64::from(u32::from_le_bytes(b.try_into().ok()?)),
        (4, true) => u64::from(u32::from_be_bytes(b.try_into().ok()?)),
        (8, false) => u64::from_le_bytes(b.try_into().ok()?),
        (8, true) => u64::from_be_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// A Go `string` header `{ptr, len}` at `vaddr`, and the bytes it points to.
fn read_go_string(
    file: &object::File<'_>,
    bytes: &[u8],
    vaddr: u64,
    ptr_size: usize,
    big_endian: bool,
) -> Option<String> {
    let hdr = read_vaddr(file, bytes, vaddr, 2 * ptr_size as u64)?;
    let ptr = read_ptr(hdr, ptr_size, big_endian)?;
    let len = read_ptr(hdr.get(ptr_size..)?, ptr_size, big_endian)?;
    if len == 0 || len > 4096 {
        return None;
    }
    let s = read_vaddr(file, bytes, ptr, len)?;
    String::from_utf8(s.to_vec()).ok()
}

/// The Go version recorded in the build info blob.
fn buildinfo_version(file: &object::File<'_>, bytes: &[u8]) -> Option<String> {
    let blob = match file
        .section_by_name(".go.buildinfo")
        .and_then(|s| s.data().ok())
    {
        Some(d) => d,
        // No section headers: Go aligns the blob to 16 bytes in the data segment.
        None => {
            let at = (0..bytes.len().saturating_sub(32))
                .step_by(16)
                .find(|&i| bytes[i..].starts_with(BUILDINFO_MAGIC))?;
            &bytes[at..]
        }
    };
    parse_buildinfo(blob, |vaddr, ptr_size, big_endian| {
        read_go_string(file, bytes, vaddr, ptr_size, big_endian)
    })
}

/// Parses a `.go.buildinfo` blob. `deref(vaddr, ptr_size, big_endian)` reads
/// the Go string header at `vaddr` (pre-1.18 format, which stores pointers).
fn parse_buildinfo(
    blob: &[u8],
    deref: impl Fn(u64, usize, bool) -> Option<String>,
) -> Option<String> {
    if blob.len() < 32 || !blob.starts_with(BUILDINFO_MAGIC) {
        return None;
    }
    let ptr_size = usize::from(blob[14]);
    let flags = blob[15];
    let big_endian = flags & 1 != 0;
    if flags & 2 != 0 {
        // Go 1.18+: length-prefixed strings inline after the 32-byte header.
        let (len, n) = read_uvarint(blob.get(32..)?)?;
        let start = 32usize.checked_add(n)?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        let s = blob.get(start..end)?;
        return String::from_utf8(s.to_vec()).ok().filter(|s| !s.is_empty());
    }
    if ptr_size != 4 && ptr_size != 8 {
        return None;
    }
    let vaddr = read_ptr(blob.get(16..)?, ptr_size, big_endian)?;
    deref(vaddr, ptr_size, big_endian)
}

/// Go's `encoding/binary.Uvarint`: value and bytes used.
fn read_uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return None;
        }
        x |= bits << (7 * i);
        if byte < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

/// `(major, minor)` from a Go version string: `go1.19.8`, `go1.21rc2`,
/// `devel go1.22-abcdef ...`.
pub fn parse_go_version(v: &str) -> Option<(u32, u32)> {
    let at = v.find("go")?;
    let rest = &v[at + 2..];
    let mut parts = rest.splitn(2, '.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor_str = parts.next()?;
    let digits = minor_str
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(minor_str.len());
    let minor: u32 = minor_str[..digits].parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ptr_size: u8, flags: u8) -> Vec<u8> {
        let mut b = BUILDINFO_MAGIC.to_vec();
        b.push(ptr_size);
        b.push(flags);
        b.resize(32, 0);
        b
    }

    #[test]
    fn versions() {
        assert_eq!(parse_go_version("go1.19.8"), Some((1, 19)));
        assert_eq!(parse_go_version("go1.21rc2"), Some((1, 21)));
        assert_eq!(parse_go_version("go1.16"), Some((1, 16)));
        assert_eq!(parse_go_version("devel go1.22-abcdef Tue"), Some((1, 22)));
        assert_eq!(parse_go_version("go"), None);
        assert_eq!(parse_go_version("gox.y"), None);
        assert_eq!(parse_go_version(""), None);
    }

    #[test]
    fn uvarint() {
        assert_eq!(read_uvarint(&[0x08]), Some((8, 1)));
        assert_eq!(read_uvarint(&[0x80, 0x01]), Some((128, 2)));
        assert_eq!(read_uvarint(&[0x80]), None);
        assert_eq!(read_uvarint(&[0xff; 11]), None);
    }

    #[test]
    fn buildinfo_inline_format() {
        let mut b = header(8, 2);
        b.push(8);
        b.extend_from_slice(b"go1.19.8");
        b.push(0);
        let v = parse_buildinfo(&b, |_, _, _| panic!("no pointers in the 1.18 format"));
        assert_eq!(v.as_deref(), Some("go1.19.8"));
        // Truncated string.
        let short = &b[..b.len() - 3];
        assert_eq!(parse_buildinfo(short, |_, _, _| None), None);
    }

    #[test]
    fn buildinfo_pointer_format() {
        let mut b = header(8, 0);
        b[16..24].copy_from_slice(&0x4c_1234u64.to_le_bytes());
        let v = parse_buildinfo(&b, |vaddr, ptr, be| {
            assert_eq!((vaddr, ptr, be), (0x4c_1234, 8, false));
            Some("go1.16.15".into())
        });
        assert_eq!(v.as_deref(), Some("go1.16.15"));
        let mut b = header(4, 1);
        b[16..20].copy_from_slice(&0x1234u32.to_be_bytes());
        let v = parse_buildinfo(&b, |vaddr, ptr, be| {
            assert_eq!((vaddr, ptr, be), (0x1234, 4, true));
            Some("go1.13".into())
        });
        assert_eq!(v.as_deref(), Some("go1.13"));
        assert_eq!(
            parse_buildinfo(&header(3, 0), |_, _, _| Some("x".into())),
            None
        );
        assert_eq!(parse_buildinfo(b"\xff Go buildinf", |_, _, _| None), None);
    }

    #[test]
    fn attach_points_pair_programs_with_offsets() {
        let f = |symbol: &str, entry, returns: Vec<u64>| GoFunc {
            symbol: symbol.into(),
            entry,
            returns,
            address: entry + 0x40_0000,
            size: 0x100,
        };
        let p = GoTlsProbes {
            go_version: Some("go1.19.8".into()),
            write: f(WRITE_SYMBOL, 0x1000, vec![0x1010, 0x1020]),
            read: f(READ_SYMBOL, 0x2000, vec![0x2030]),
        };
        assert_eq!(
            p.attach_points(),
            [
                ("go_tls_write_entry", 0x1000),
                ("go_tls_read_entry", 0x2000),
                ("go_tls_write_ret", 0x1010),
                ("go_tls_write_ret", 0x1020),
                ("go_tls_read_ret", 0x2030),
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(find_go_tls_in(b""), Err(GoError::Elf(_))));
        assert!(matches!(find_go_tls_in(b"\x7fELF"), Err(GoError::Elf(_))));
        assert!(find_go_tls_in(&[0u8; 4096]).is_err());
    }
}
