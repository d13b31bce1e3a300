//! System-call helpers shared by the live backends (AF_PACKET, AF_XDP,
//! eBPF, libpcap): the error shape, privileges, socket options, interface
//! lookup.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;

use crate::{CaptureError, CaptureErrorKind};

/// A live-capture error about `name` (the interface).
pub(crate) fn live_err(name: &str, message: String) -> CaptureError {
    CaptureError {
        source_name: name.to_string(),
        offset: 0,
        kind: CaptureErrorKind::Live,
        message,
    }
}

/// The kernel refused for lack of privileges.
pub(crate) fn is_perm(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES))
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// `setsockopt(2)` with a value of type `T`.
pub(crate) fn setsockopt<T>(
    fd: RawFd,
    level: libc::c_int,
    opt: libc::c_int,
    val: &T,
) -> io::Result<()> {
    // SAFETY: `val` is a valid, initialised `T` for the duration of the call and
    // the length passed is its exact size; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (val as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The index of interface `name` in this network namespace, or the message
/// to give when there is none.
pub(crate) fn interface_index(name: &str) -> Result<u32, String> {
    let missing = || format!("no network interface named {name:?}");
    let cname = CString::new(name).map_err(|_| missing())?;
    // SAFETY: `cname` is a valid NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if ifindex == 0 {
        return Err(missing());
    }
    Ok(ifindex)
}

/// The pending error of socket `fd` (`SO_ERROR`), 0 when none.
pub(crate) fn socket_error(fd: RawFd) -> libc::c_int {
    let mut soerr: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `soerr` is writable for `len` bytes.
    unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut soerr as *mut libc::c_int).cast(),
            &mut len,
        );
    }
    soerr
}

/// The first `io::Error` in an error's source chain.
#[cfg(any(feature = "ebpf", feature = "afxdp"))]
pub(crate) fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}
