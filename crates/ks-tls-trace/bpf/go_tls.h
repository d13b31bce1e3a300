// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// ks-tls-trace: Go crypto/tls plaintext, BPF side. #include this file into
// a BPF program (after its own includes and emit function). See
// docs/notes/go-tls.md and src/go.rs (which finds the attach offsets).
//
// Probes (plain uprobes only: a uretprobe rewrites the return address on
// the goroutine stack, which the Go runtime moves and walks, and crashes the
// program):
//
//   SEC("uprobe/go_tls_write_entry")  at the entry of crypto/tls.(*Conn).Write
//   SEC("uprobe/go_tls_write_ret")    at EVERY RET instruction of (*Conn).Write
//   SEC("uprobe/go_tls_read_entry")   at the entry of crypto/tls.(*Conn).Read
//   SEC("uprobe/go_tls_read_ret")     at EVERY RET instruction of (*Conn).Read
//
// (file offsets: GoTlsProbes::{write,read}.{entry,returns} from src/go.rs).
//
// Calling convention: Go >= 1.17 register ABI (ABIInternal) on amd64.
//   func (c *Conn) Write(b []byte) (int, error)   and   Read, same shape:
//   arguments  RAX = c (*tls.Conn), RBX = b.ptr, RCX = b.len, RDI = b.cap
//   results    RAX = n (int, 64-bit), RBX/RCX = error (itab, data)
//   R14 always holds the current goroutine's g (runtime.g pointer).
//
// A call is keyed by {tgid, direction, g}: a goroutine can move to another
// OS thread between entry and return (so pid_tgid is not a key), and one
// goroutine runs one call at a time. The g pointer is unique among live
// goroutines (a g struct is only reused after its goroutine exited).
//
// Stack growth: when the stack is too small, the prologue calls
// runtime.morestack, which copies the stack and jumps back to the function's
// first instruction, so the entry probe can fire twice for one call (same
// registers both times). Entry therefore only stores (overwrites); bytes are
// emitted at a RET, which happens once per call, and the key is deleted then.
// A call that never returns (panic unwinding through it) leaves its entry
// behind: the map is an LRU hash so such entries age out.
//
// The includer provides, before #include "go_tls.h":
//   - <linux/bpf.h>, <linux/ptrace.h>, <bpf/bpf_helpers.h>, <bpf/bpf_tracing.h>
//     and -D__TARGET_ARCH_x86 (the probes exist only for bpf_target_x86;
//     nothing is defined for other targets: arm64 is not implemented);
//   - either a function
//       static __always_inline int ks_emit(void *ctx, __u64 conn, __s32 fd,
//           __u8 direction /* 0 read, 1 write */, const void *buf, __u64 len,
//           __u8 library /* 3 = Go */);
//     or its own macro KS_GO_EMIT(ctx, conn, fd, direction, buf, len)
//     (buf is a __u64 user address);
//   - optionally KS_GO_IN_SCOPE(tgid): nonzero when the process is traced
//     (default: every process the probes are attached to).

#ifndef KS_GO_TLS_H
#define KS_GO_TLS_H

#if defined(bpf_target_x86)

#ifndef KS_LIB_GO
#define KS_LIB_GO 3
#endif

#ifndef KS_GO_EMIT
#define KS_GO_EMIT(ctx, conn, fd, direction, buf, len) \
	ks_emit((ctx), (conn), (fd), (direction), (const void *)(buf), (len), KS_LIB_GO)
#endif

#ifndef KS_GO_IN_SCOPE
#define KS_GO_IN_SCOPE(tgid) 1
#endif

#ifndef KS_GO_MAX_CALLS
#define KS_GO_MAX_CALLS 16384
#endif

// ---- Go data layout (amd64), checked against the go1.19 sources; these
// fields have been first in their structs for many releases, recheck them
// when a Go release reorders tls.Conn, net.conn, netFD or poll.FD. ----
//
// crypto/tls/conn.go:   type Conn struct { conn net.Conn; isClient bool; ... }
//   net.Conn is a non-empty interface: {itab *itab, data unsafe.Pointer},
//   so the dynamic value (*net.TCPConn for TCP) is the word at +8.
#define KS_GO_TLS_CONN_NETCONN_DATA 8
// net/tcpsock.go:       type TCPConn struct { conn }
// net/net.go:           type conn struct { fd *netFD }
//   (*net.UnixConn has the same shape), so *netFD is the word at +0.
#define KS_GO_NETCONN_NETFD 0
// net/fd_posix.go:      type netFD struct { pfd poll.FD; ... }
// internal/poll/fd_unix.go: type FD struct { fdmu fdMutex; Sysfd int; ... }
// internal/poll/fd_mutex.go: type fdMutex struct { state uint64; rsema uint32; wsema uint32 }
//   fdMutex is 16 bytes, so Sysfd (int, 64-bit) is at +16 of netFD.
#define KS_GO_NETFD_SYSFD 16

// Register names in struct pt_regs: the kernel's (vmlinux.h) or the UAPI
// <asm/ptrace.h> one that bpf_tracing.h uses without vmlinux.h.
#if defined(__VMLINUX_H__) || defined(__KERNEL__)
#define KS_GO_RAX ax
#define KS_GO_RBX bx
#define KS_GO_RCX cx
#define KS_GO_R14 r14
#else
#define KS_GO_RAX rax
#define KS_GO_RBX rbx
#define KS_GO_RCX rcx
#define KS_GO_R14 r14
#endif
#define KS_GO_REG(ctx, r) ((__u64)((const struct pt_regs *)(ctx))->r)

#define KS_GO_DIR_READ 0
#define KS_GO_DIR_WRITE 1

struct ks_go_key {
	__u32 tgid;
	__u32 direction;
	__u64 g; // runtime.g of the calling goroutine (R14)
};

struct ks_go_call {
	__u64 conn; // *tls.Conn
	__u64 buf;  // b.ptr
	__u64 len;  // b.len
	__s64 fd;   // socket fd of the connection, or -1
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KS_GO_MAX_CALLS);
	__type(key, struct ks_go_key);
	__type(value, struct ks_go_call);
} KS_GO_CALLS SEC(".maps");

// fd = c.conn.(*net.TCPConn).fd.pfd.Sysfd, or -1 when unreadable or
// implausible (the net.Conn is not a *net.TCPConn / *net.UnixConn).
static __always_inline __s64 ks_go_conn_fd(__u64 conn)
{
	__u64 netconn = 0, netfd = 0;
	__s64 fd = -1;
	if (!conn)
		return -1;
	if (bpf_probe_read_user(&netconn, sizeof(netconn),
				(void *)(conn + KS_GO_TLS_CONN_NETCONN_DATA)) || !netconn)
		return -1;
	if (bpf_probe_read_user(&netfd, sizeof(netfd),
				(void *)(netconn + KS_GO_NETCONN_NETFD)) || !netfd)
		return -1;
	if (bpf_probe_read_user(&fd, sizeof(fd), (void *)(netfd + KS_GO_NETFD_SYSFD)))
		return -1;
	if (fd < 0 || fd > 0x7fffffff)
		return -1;
	return fd;
}

static __always_inline int ks_go_tls_entry(struct pt_regs *ctx, __u32 direction)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!KS_GO_IN_SCOPE(tgid))
		return 0;
	struct ks_go_key k = {};
	k.tgid = tgid;
	k.direction = direction;
	k.g = KS_GO_REG(ctx, KS_GO_R14);
	struct ks_go_call c = {};
	c.conn = KS_GO_REG(ctx, KS_GO_RAX);
	c.buf = KS_GO_REG(ctx, KS_GO_RBX);
	c.len = KS_GO_REG(ctx, KS_GO_RCX);
	c.fd = ks_go_conn_fd(c.conn);
	// Overwrite: a morestack restart of the prologue fires this twice.
	bpf_map_update_elem(&KS_GO_CALLS, &k, &c, BPF_ANY);
	return 0;
}

static __always_inline int ks_go_tls_ret(struct pt_regs *ctx, __u32 direction)
{
	struct ks_go_key k = {};
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	k.direction = direction;
	k.g = KS_GO_REG(ctx, KS_GO_R14);
	struct ks_go_call *p = bpf_map_lookup_elem(&KS_GO_CALLS, &k);
	if (!p)
		return 0;
	struct ks_go_call c = *p;
	bpf_map_delete_elem(&KS_GO_CALLS, &k);
	__s64 n = (__s64)KS_GO_REG(ctx, KS_GO_RAX);
	if (n <= 0)
		return 0;
	if ((__u64)n > c.len) // cannot happen for a well-behaved call
		n = c.len;
	KS_GO_EMIT(ctx, c.conn, (__s32)c.fd, (__u8)direction, c.buf, (__u64)n);
	return 0;
}

SEC("uprobe/go_tls_write_entry")
int go_tls_write_entry(struct pt_regs *ctx)
{
	return ks_go_tls_entry(ctx, KS_GO_DIR_WRITE);
}

SEC("uprobe/go_tls_write_ret")
int go_tls_write_ret(struct pt_regs *ctx)
{
	return ks_go_tls_ret(ctx, KS_GO_DIR_WRITE);
}

SEC("uprobe/go_tls_read_entry")
int go_tls_read_entry(struct pt_regs *ctx)
{
	return ks_go_tls_entry(ctx, KS_GO_DIR_READ);
}

SEC("uprobe/go_tls_read_ret")
int go_tls_read_ret(struct pt_regs *ctx)
{
	return ks_go_tls_ret(ctx, KS_GO_DIR_READ);
}

#endif // bpf_target_x86
#endif // KS_GO_TLS_H
