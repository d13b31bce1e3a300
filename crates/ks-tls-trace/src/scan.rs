//! Finding TLS libraries: system library directories, `/proc/PID/maps` of
//! running processes, explicit paths.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::Library;

/// Directories searched at start (those that exist).
const SYSTEM_DIRS: &[&str] = &[
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/local/ssl/lib",
    "/usr/lib/ssl",
];

/// A library file to hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub path: PathBuf,
    pub library: Library,
    pub pid: Option<u32>,
    /// (device, inode) of the file.
    pub id: (u64, u64),
}

/// The library a file name stands for: `libssl.so*` (not NSS's
/// `libssl3.so`) and `libgnutls.so*` (not `libgnutls-dane.so`...).
pub(crate) fn kind_of_name(name: &str) -> Option<Library> {
    if name.starts_with("libssl.so") {
        Some(Library::OpenSsl)
    } else if name.starts_with("libgnutls.so") {
        Some(Library::GnuTls)
    } else {
        None
    }
}

/// (device, inode) of the file `path` (following symlinks).
pub(crate) fn file_id(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    m.is_file().then(|| (m.dev(), m.ino()))
}

/// TLS libraries in the system library directories.
pub(crate) fn system_libraries() -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for dir in SYSTEM_DIRS {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            let Some(library) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(kind_of_name)
            else {
                continue;
            };
            let path = std::fs::canonicalize(&p).unwrap_or(p);
            let Some(id) = file_id(&path) else { continue };
            if ids.insert(id) {
                out.push(Candidate {
                    path,
                    library,
                    pid: None,
                    id,
                });
            }
        }
    }
    out
}

/// Which processes the `/proc` scan looks at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub pids: HashSet<u32>,
    /// At most 15 bytes each, as the kernel keeps them.
    pub comms: HashSet<Vec<u8>>,
}

impl Scope {
    fn all(&self) -> bool {
        self.pids.is_empty() && self.comms.is_empty()
    }

    fn contains(&self, pid: u32) -> bool {
        if self.all() || self.pids.contains(&pid) {
            return true;
        }
        if self.comms.is_empty() {
            return false;
        }
        match std::fs::read(format!("/proc/{pid}/comm")) {
            Ok(mut c) => {
                while c.last() == Some(&b'\n') {
                    c.pop();
                }
                self.comms.contains(&c)
            }
            Err(_) => false,
        }
    }
}

/// The library paths mapped by a process, from the text of its
/// `/proc/PID/maps` (each once).
pub(crate) fn mapped_libraries(maps: &str) -> Vec<(&str, Library)> {
    let mut out: Vec<(&str, Library)> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode path; the path is the rest of the
        // line after the fifth field and may hold spaces.
        let Some(at) = line.find('/') else { continue };
        let path = &line[at..];
        if path.ends_with(" (deleted)") {
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or("");
        let Some(lib) = kind_of_name(name) else {
            continue;
        };
        if !out.iter().any(|(p, _)| *p == path) {
            out.push((path, lib));
        }
    }
    out
}

/// TLS libraries mapped by running processes in `scope` whose files are
/// not in `known`. A library is reached through `/proc/PID/root` unless the
/// same file is at the same path in the tracer's own mount namespace.
///
/// `seen` holds the pids whose maps were read before: unless `full`, they
/// are skipped (a full scan also catches libraries loaded later with
/// dlopen); a full scan forgets the pids that are gone.
pub(crate) fn from_proc(
    scope: &Scope,
    known: &HashSet<(u64, u64)>,
    seen: &mut HashSet<u32>,
    full: bool,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    let me = std::process::id();
    let mut alive = HashSet::new();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if full {
            alive.insert(pid);
        }
        if pid == me || (!full && seen.contains(&pid)) || !scope.contains(pid) {
            continue;
        }
        seen.insert(pid);
        let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
            continue;
        };
        // The executable itself: a Go program (crypto/tls) is hooked in
        // the file, which the hook tells by its symbols.
        if let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) {
            if let Some(c) = candidate(pid, &exe.to_string_lossy(), Library::Go, known, &out) {
                out.push(c);
            }
        }
        for (path, library) in mapped_libraries(&maps) {
            if let Some(c) = candidate(pid, path, library, known, &out) {
                out.push(c);
            }
        }
    }
    if full {
        seen.retain(|p| alive.contains(p));
    }
    out
}

/// Whether the ELF file at `path` defines (not imports) `SSL_read` and
/// `SSL_write`: an executable with BoringSSL (or OpenSSL) linked in
/// statically, as Envoy is. Read whole, once per file.
pub(crate) fn defines_ssl_functions(path: &Path) -> bool {
    use object::{Object, ObjectSymbol};
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Ok(file) = object::File::parse(&*bytes) else {
        return false;
    };
    let (mut read, mut write) = (false, false);
    for sym in file.symbols().chain(file.dynamic_symbols()) {
        if sym.is_undefined() || sym.address() == 0 {
            continue;
        }
        match sym.name() {
            Ok("SSL_read") => read = true,
            Ok("SSL_write") => write = true,
            _ => {}
        }
    }
    read && write
}

/// `path` as process `pid` sees it, unless its file is `known` or already
/// in `out`. Reached through `/proc/PID/root` unless the same file is at the
/// same path in the tracer's own mount namespace.
fn candidate(
    pid: u32,
    path: &str,
    library: Library,
    known: &HashSet<(u64, u64)>,
    out: &[Candidate],
) -> Option<Candidate> {
    if path.ends_with(" (deleted)") {
        return None;
    }
    let rooted = PathBuf::from(format!("/proc/{pid}/root{path}"));
    let id = file_id(&rooted)?;
    if known.contains(&id) || out.iter().any(|c| c.id == id) {
        return None;
    }
    let plain = PathBuf::from(path);
    let path = if file_id(&plain) == Some(id) {
        plain
    } else {
        rooted
    };
    Some(Candidate {
        path,
        library,
        pid: Some(pid),
        id,
    })
}

/// The kind of an explicitly named file: by its name, else OpenSSL-style
/// symbols in an executable are taken as BoringSSL.
pub(crate) fn kind_of_path(path: &Path) -> Library {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if let Some(k) = kind_of_name(name) {
        return k;
    }
    if name.contains("gnutls") {
        Library::GnuTls
    } else if name.contains("libssl") {
        Library::OpenSsl
    } else {
        Library::BoringSsl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(kind_of_name("libssl.so.3"), Some(Library::OpenSsl));
        assert_eq!(kind_of_name("libssl.so.1.1"), Some(Library::OpenSsl));
        assert_eq!(kind_of_name("libssl3.so"), None);
        assert_eq!(kind_of_name("libgnutls.so.30"), Some(Library::GnuTls));
        assert_eq!(kind_of_name("libgnutls-dane.so.0"), None);
        assert_eq!(kind_of_path(Path::new("/x/envoy")), Library::BoringSsl);
    }

    #[test]
    fn maps_lines() {
        let maps = "7f00-7f10 r--p 00000000 fd:01 1234   /usr/lib/x86_64-linux-gnu/libssl.so.3\n\
7f10-7f20 r-xp 00010000 fd:01 1234   /usr/lib/x86_64-linux-gnu/libssl.so.3\n\
7f20-7f30 r-xp 00000000 fd:01 99   /opt/my dir/libgnutls.so.30\n\
7f30-7f40 r-xp 00000000 fd:01 98   /tmp/libssl.so.3 (deleted)\n\
7ffd-7ffe rw-p 00000000 00:00 0   [stack]\n";
        let libs = mapped_libraries(maps);
        assert_eq!(
            libs,
            vec![
                ("/usr/lib/x86_64-linux-gnu/libssl.so.3", Library::OpenSsl),
                ("/opt/my dir/libgnutls.so.30", Library::GnuTls)
            ]
        );
    }

    #[test]
    fn finds_system_libssl() {
        // Only meaningful where libssl is installed; never panics elsewhere.
        for c in system_libraries() {
            assert!(c.path.is_absolute());
        }
    }
}
