//! bpf/go_tls.h compiles as the includer will use it (clang -target bpf) and
//! defines the four uprobe programs and its map. clang is required: the
//! crate's BPF program cannot be built without it either.

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol};

const INCLUDES: &str = "#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
";

/// The includer's emit function as the header's default expects it.
const WITH_KS_EMIT: &str = "
struct emitted { __u64 conn; __u64 buf; __u64 len; __s32 fd; __u8 dir; __u8 lib; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } OUT SEC(\".maps\");
static __always_inline int ks_emit(void *ctx, __u64 conn, __s32 fd, __u8 direction,
                                   const void *buf, __u64 len, __u8 library)
{
	struct emitted e = { .conn = conn, .buf = (__u64)buf, .len = len, .fd = fd,
	                     .dir = direction, .lib = library };
	return bpf_ringbuf_output(&OUT, &e, sizeof(e), 0);
}
#include \"go_tls.h\"
char LICENSE[] SEC(\"license\") = \"GPL\";
";

/// An includer with its own emit (tls.bpf.c's emit_call shape) and scope filter.
const WITH_MACROS: &str = "
#define LIB_GO 3
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u8); } PIDS SEC(\".maps\");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } OUT SEC(\".maps\");
static __always_inline void emit_call(__u64 conn, __s32 fd, __u8 direction, __u8 library,
                                      __u64 buf, __u64 call_len)
{
	__u64 e[4] = { conn, buf, call_len, ((__u64)(__u32)fd << 16) | (direction << 8) | library };
	bpf_ringbuf_output(&OUT, e, sizeof(e), 0);
}
#define KS_GO_EMIT(ctx, conn, fd, dir, buf, len) emit_call((conn), (fd), (dir), LIB_GO, (buf), (len))
#define KS_GO_IN_SCOPE(tgid) (bpf_map_lookup_elem(&PIDS, &(tgid)) != 0)
#include \"go_tls.h\"
char LICENSE[] SEC(\"license\") = \"GPL\";
";

const PROGRAMS: [(&str, &str); 4] = [
    ("uprobe/go_tls_write_entry", "go_tls_write_entry"),
    ("uprobe/go_tls_write_ret", "go_tls_write_ret"),
    ("uprobe/go_tls_read_entry", "go_tls_read_entry"),
    ("uprobe/go_tls_read_ret", "go_tls_read_ret"),
];

fn clang() -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("clang"))
                .find(|c| c.is_file())
        })
        .unwrap_or_default();
    found.unwrap_or_else(|| {
        panic!(
            "clang is required to check bpf/go_tls.h (and to build the crate's BPF program): \
             install it (Debian: apt-get install clang libbpf-dev)"
        )
    })
}

/// Compiles `source` (INCLUDES prepended) for the BPF target and returns the object bytes.
fn compile(name: &str, source: &str, arch: &str, extra: &[&str]) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ks-go-tls-header");
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}.o"));
    std::fs::write(&c, format!("{INCLUDES}{source}")).unwrap();
    let bpf_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf");
    let out = Command::new(clang())
        .args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", "-c"])
        .arg(format!("-D__TARGET_ARCH_{arch}"))
        .args(extra)
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(&bpf_dir)
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "clang {name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(o).unwrap()
}

fn check_programs(obj: &[u8]) {
    let elf = object::File::parse(obj).unwrap();
    assert_eq!(elf.architecture(), object::Architecture::Bpf);
    for (section, func) in PROGRAMS {
        let s = elf
            .section_by_name(section)
            .unwrap_or_else(|| panic!("no section {section}"));
        assert!(s.size() > 0, "{section} is empty");
        let sym = elf
            .symbols()
            .find(|x| x.name() == Ok(func))
            .unwrap_or_else(|| panic!("no program {func}"));
        assert_eq!(
            sym.section_index(),
            Some(s.index()),
            "{func} not in {section}"
        );
        assert_eq!(sym.kind(), object::SymbolKind::Text);
    }
    assert!(
        elf.symbols().any(|x| x.name() == Ok("KS_GO_CALLS")),
        "map KS_GO_CALLS missing"
    );
    assert!(elf.section_by_name(".maps").is_some());
}

#[test]
fn header_compiles_with_ks_emit() {
    check_programs(&compile("with_ks_emit", WITH_KS_EMIT, "x86", &[]));
}

#[test]
fn header_compiles_with_includer_macros() {
    check_programs(&compile("with_macros", WITH_MACROS, "x86", &[]));
}

#[test]
fn header_defines_nothing_for_arm64() {
    // The includer's ks_emit is then unused.
    let obj = compile("arm64", WITH_KS_EMIT, "arm64", &["-Wno-unused-function"]);
    let elf = object::File::parse(&*obj).unwrap();
    for (section, _) in PROGRAMS {
        assert!(
            elf.section_by_name(section).is_none(),
            "{section} defined for arm64"
        );
    }
}
