// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// ks-tls-trace: TLS plaintext from uprobes on the read/write functions of
// TLS libraries (OpenSSL SSL_read/SSL_write/SSL_read_ex/SSL_write_ex, GnuTLS
// gnutls_record_recv/gnutls_record_send).
//
// * tls_enter (uprobe, one attachment per function and library, the BPF
//   cookie tells which) checks the scope (pid / comm) and saves the call's
//   arguments in ACTIVE, keyed by pid_tgid.
// * sys_enter (raw tracepoint) notes the fd of the first socket read/write
//   system call a thread makes while one of its TLS calls is on the stack.
// * tls_ret (uretprobe) reads the return value, resolves fd and socket
//   tuple (cached per process and SSL* in CONNS) and copies the bytes really
//   read or written into the EVENTS ring buffer with emit_call(): records of
//   at most CHUNK bytes, split with bpf_loop (Linux 5.17+), up to
//   MAX_CALL_BYTES per call.
//
// Record layout (host byte order unless noted): struct rec_hdr, then `len`
// bytes of plaintext. Keep in sync with src/record.rs.
//
// Build: clang -target bpf -D__TARGET_ARCH_x86 -O2 -g -c tls.bpf.c

#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define CHUNK 16384

// Cookie of a tls_enter attachment (set by user space, src/tracer.rs).
#define C_WRITE (1 << 0)  // the call sends (SSL_write...), else receives
#define C_EX (1 << 1)     // *_ex: returns 1/0, byte count in *arg4
#define C_RET64 (1 << 2)  // returns a 64-bit ssize_t (GnuTLS), else int
#define C_LIB_SHIFT 8     // bits 8..15: library kind (LIB_*)

#define LIB_OPENSSL 0
#define LIB_GNUTLS 1
#define LIB_BORINGSSL 2
#define LIB_GO 3

// rec_hdr.flags
#define F_TRUNCATED (1 << 0)  // last record of a call cut at MAX_CALL_BYTES
#define F_COPY_FAILED (1 << 1) // bpf_probe_read_user failed: no data

// Counters (per-CPU array COUNTERS).
#define CNT_CHUNKS 0
#define CNT_LOST 1
#define CNT_TRUNCATED 2
#define CNT_BYTES 3
#define CNT_N 4

struct rec_hdr {
	__u64 ts_ns;     // bpf_ktime_get_boot_ns()
	__u64 cgroup_id; // bpf_get_current_cgroup_id()
	__u64 conn;      // SSL* (gnutls_session_t, Go *tls.Conn)
	__u64 call_len;  // bytes the call read or wrote
	__u64 offset;    // of this record's data within the call
	__u32 pid;       // tgid
	__u32 tid;
	__s32 fd;        // -1: unknown
	__u32 len;       // data bytes after the header
	__u8 direction;  // 0 read (received), 1 write (sent)
	__u8 flags;      // F_*
	__u8 library;    // LIB_*
	__u8 family;     // 0 unknown, 2 AF_INET, 10 AF_INET6
	__u16 lport;     // local port (host order)
	__u16 rport;     // remote port (host order)
	__u8 laddr[16];  // IPv4: first 4 bytes (network order)
	__u8 raddr[16];
	char comm[16];
};

struct rec {
	struct rec_hdr h;
	__u8 data[CHUNK];
};

struct call_state {
	__u64 ssl;
	__u64 buf;
	__u64 outp;     // *_ex: size_t *readbytes / *written
	__u32 cookie;
	__s32 sys_fd;   // first socket syscall's fd during the call, or -1
};

struct conn_key {
	__u64 ssl;
	__u32 tgid;
	__u32 pad;
};

struct conn_info {
	__s32 fd;
	__u8 pad0;
	__u8 family;
	__u16 lport;
	__u16 rport;
	__u16 pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} EVENTS SEC(".maps");

// LRU: a thread killed inside a call leaves its entry behind.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct call_state);
} ACTIVE SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn_info);
} CONNS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} SCOPE_PIDS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[16]);
	__type(value, __u8);
} SCOPE_COMMS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec);
} SCRATCH SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_N);
	__type(key, __u32);
	__type(value, __u64);
} COUNTERS SEC(".maps");

// Set by user space at load time (aya EbpfLoader::override_global).
volatile const __u32 SCOPE_ON = 0;       // 1: only SCOPE_PIDS / SCOPE_COMMS
volatile const __u32 MAX_CALL_BYTES = 1 << 20;
volatile const __u32 CORE_ON = 1;        // 0: kernel BTF missing, no tuples

// Syscalls whose first argument is a socket fd used for data.
#if defined(__TARGET_ARCH_arm64)
#define SYS_IS_IO(n) ((n) == 63 || (n) == 64 || (n) == 65 || (n) == 66 || \
		      (n) == 206 || (n) == 207 || (n) == 211 || (n) == 212)
#define REGS_FD_OFF 0 /* user_pt_regs.regs[0] */
#else
#define SYS_IS_IO(n) ((n) == 0 || (n) == 1 || (n) == 19 || (n) == 20 || \
		      (n) == 44 || (n) == 45 || (n) == 46 || (n) == 47)
#define REGS_FD_OFF 112 /* pt_regs.di */
#endif

// ---- Minimal kernel types for CO-RE (no vmlinux.h needed). ----
struct files_struct___ks;
struct task_struct___ks {
	struct files_struct___ks *files;
} __attribute__((preserve_access_index));
struct fdtable___ks {
	unsigned int max_fds;
	void **fd;
} __attribute__((preserve_access_index));
struct files_struct___ks {
	struct fdtable___ks *fdt;
} __attribute__((preserve_access_index));
struct file___ks {
	void *private_data;
} __attribute__((preserve_access_index));
struct sock___ks;
struct socket___ks {
	struct file___ks *file;
	struct sock___ks *sk;
} __attribute__((preserve_access_index));
struct in6_addr___ks {
	union {
		__u8 u6_addr8[16];
	} in6_u;
} __attribute__((preserve_access_index));
struct sock_common___ks {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	struct in6_addr___ks skc_v6_daddr;
	struct in6_addr___ks skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));
struct sock___ks {
	struct sock_common___ks __sk_common;
} __attribute__((preserve_access_index));

// Forces lo <= v <= hi in the very register passed on, so the verifier sees
// the bound (clang otherwise checks a copy and passes the original).
#define CLAMP(v, lo, hi)                                              \
	asm volatile("if %[x] >= %[l] goto +1\n\t"                   \
		     "%[x] = %[l]\n\t"                                \
		     "if %[x] <= %[h] goto +1\n\t"                    \
		     "%[x] = %[h]\n\t"                                \
		     : [x] "+r"(v)                                     \
		     : [l] "i"(lo), [h] "i"(hi))

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&COUNTERS, &idx);
	if (v)
		*v += n;
}

static __always_inline int in_scope(__u32 tgid)
{
	if (!SCOPE_ON)
		return 1;
	if (bpf_map_lookup_elem(&SCOPE_PIDS, &tgid))
		return 1;
	char comm[16] = {};
	bpf_get_current_comm(comm, sizeof(comm));
	return bpf_map_lookup_elem(&SCOPE_COMMS, comm) != 0;
}

// Fills the socket tuple of `fd` of the current task into `ci` (family 0
// when it is not an IPv4/IPv6 socket or cannot be read).
static __always_inline void socket_tuple(__s32 fd, struct conn_info *ci)
{
	ci->family = 0;
	if (!CORE_ON || fd < 0)
		return;
	struct task_struct___ks *task = (void *)bpf_get_current_task();
	struct files_struct___ks *files = BPF_CORE_READ(task, files);
	if (!files)
		return;
	struct fdtable___ks *fdt = BPF_CORE_READ(files, fdt);
	if (!fdt)
		return;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return;
	void **arr = BPF_CORE_READ(fdt, fd);
	struct file___ks *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), arr + fd) || !f)
		return;
	struct socket___ks *so = BPF_CORE_READ(f, private_data);
	if (!so)
		return;
	// A socket's file points back at its struct socket: this rejects files
	// whose private_data is something else.
	if ((void *)BPF_CORE_READ(so, file) != (void *)f)
		return;
	struct sock___ks *sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return;
	unsigned short fam = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (fam == 2) {
		__be32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memset(ci->laddr, 0, 16);
		__builtin_memset(ci->raddr, 0, 16);
		__builtin_memcpy(ci->laddr, &l, 4);
		__builtin_memcpy(ci->raddr, &r, 4);
	} else if (fam == 10) {
		BPF_CORE_READ_INTO(&ci->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&ci->raddr, sk, __sk_common.skc_v6_daddr);
	} else {
		return;
	}
	ci->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	ci->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	ci->family = (__u8)fam;
}

struct loop_ctx {
	struct rec_hdr h;
	__u64 buf;
	__u64 total;     // bytes to copy (call_len capped at MAX_CALL_BYTES)
	__u8 truncated;
};

static long emit_one(__u32 i, void *arg)
{
	struct loop_ctx *c = arg;
	__u32 zero = 0;
	__u64 off = (__u64)i * CHUNK;
	if (off >= c->total)
		return 1;
	struct rec *r = bpf_map_lookup_elem(&SCRATCH, &zero);
	if (!r)
		return 1;
	__u64 len = c->total - off;
	if (len > CHUNK)
		len = CHUNK;
	CLAMP(len, 1, CHUNK);
	__builtin_memcpy(&r->h, &c->h, sizeof(struct rec_hdr));
	r->h.offset = off;
	r->h.flags = 0;
	if (c->truncated && off + len >= c->total)
		r->h.flags |= F_TRUNCATED;
	if (bpf_probe_read_user(r->data, len, (void *)(c->buf + off))) {
		r->h.flags |= F_COPY_FAILED;
		r->h.len = 0;
		len = 0;
	} else {
		r->h.len = (__u32)len;
	}
	if (bpf_ringbuf_output(&EVENTS, r, sizeof(struct rec_hdr) + len, 0)) {
		count(CNT_LOST, 1);
	} else {
		count(CNT_CHUNKS, 1);
		count(CNT_BYTES, len);
	}
	return 0;
}

// Emits the `call_len` bytes at user address `buf` (the plaintext of one
// TLS read or write of the current thread) as consecutive records. `conn`
// identifies the connection in the process (SSL*), `fd` is its socket or -1.
// With fd >= 0 the socket tuple is read from the kernel's socket and cached
// in CONNS (per tgid and conn); with -1 the cached fd and tuple are used.
// Reusable by other probes (Go) in this file.
static __always_inline void emit_call(__u64 conn, __s32 fd, __u8 direction,
				      __u8 library, __u64 buf, __u64 call_len)
{
	if (call_len == 0)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	struct loop_ctx c = {};
	c.h.ts_ns = bpf_ktime_get_boot_ns();
	c.h.cgroup_id = bpf_get_current_cgroup_id();
	c.h.conn = conn;
	c.h.call_len = call_len;
	c.h.pid = id >> 32;
	c.h.tid = (__u32)id;
	c.h.direction = direction;
	c.h.library = library;
	bpf_get_current_comm(c.h.comm, sizeof(c.h.comm));

	struct conn_key k = {.ssl = conn, .tgid = id >> 32};
	struct conn_info *ci = bpf_map_lookup_elem(&CONNS, &k);
	if (ci && fd < 0)
		fd = ci->fd;
	else if (fd >= 0) {
		// A fresh fd (seen in a system call of this very call): the tuple
		// is read again, as the SSL* and the fd number may both have been
		// reused for a new connection since the cache was filled.
		struct conn_info n = {};
		n.fd = fd;
		socket_tuple(fd, &n);
		bpf_map_update_elem(&CONNS, &k, &n, BPF_ANY);
		ci = bpf_map_lookup_elem(&CONNS, &k);
	}
	c.h.fd = fd;
	if (ci && ci->fd == fd) {
		c.h.family = ci->family;
		c.h.lport = ci->lport;
		c.h.rport = ci->rport;
		__builtin_memcpy(c.h.laddr, ci->laddr, 16);
		__builtin_memcpy(c.h.raddr, ci->raddr, 16);
	}

	c.buf = buf;
	c.total = call_len;
	if (call_len > MAX_CALL_BYTES) {
		c.total = MAX_CALL_BYTES;
		c.truncated = 1;
		count(CNT_TRUNCATED, 1);
	}
	__u32 n = (c.total + CHUNK - 1) / CHUNK;
	bpf_loop(n, emit_one, &c, 0);
}

SEC("uprobe")
int tls_enter(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if (!in_scope(id >> 32))
		return 0;
	__u32 cookie = (__u32)bpf_get_attach_cookie(ctx);
	struct call_state st = {};
	st.ssl = (__u64)PT_REGS_PARM1(ctx);
	st.buf = (__u64)PT_REGS_PARM2(ctx);
	if (cookie & C_EX)
		st.outp = (__u64)PT_REGS_PARM4(ctx);
	st.cookie = cookie;
	st.sys_fd = -1;
	bpf_map_update_elem(&ACTIVE, &id, &st, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int tls_ret(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct call_state *p = bpf_map_lookup_elem(&ACTIVE, &id);
	if (!p)
		return 0;
	struct call_state st = *p;
	bpf_map_delete_elem(&ACTIVE, &id);

	__u64 rc = (__u64)PT_REGS_RC(ctx);
	__u64 len = 0;
	if (st.cookie & C_EX) {
		if ((int)rc != 1 || !st.outp)
			return 0;
		if (bpf_probe_read_user(&len, sizeof(len), (void *)st.outp))
			return 0;
	} else if (st.cookie & C_RET64) {
		if ((__s64)rc <= 0)
			return 0;
		len = rc;
	} else {
		if ((int)rc <= 0)
			return 0;
		len = (__u64)(int)rc;
	}
	emit_call(st.ssl, st.sys_fd, (st.cookie & C_WRITE) ? 1 : 0,
		  (st.cookie >> C_LIB_SHIFT) & 0xff, st.buf, len);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = (long)ctx->args[1];
	if (!SYS_IS_IO(nr))
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct call_state *st = bpf_map_lookup_elem(&ACTIVE, &id);
	if (!st || st->sys_fd >= 0)
		return 0;
	__u64 fd = 0;
	if (bpf_probe_read_kernel(&fd, sizeof(fd), (void *)(ctx->args[0] + REGS_FD_OFF)))
		return 0;
	if ((__s64)fd >= 0 && fd < 0x7fffffff)
		st->sys_fd = (__s32)fd;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// Go crypto/tls probes (bpf/go_tls.h, written with src/go.rs), compiled in
// when build.rs passes -DKS_WITH_GO. They emit through emit_call() and use
// the same scope; the loader (src/tracer.rs) loads every program of the
// object and attaches these at file offsets with Tracer::attach_uprobe_at.
#ifdef KS_WITH_GO
#define KS_GO_EMIT(ctx, conn, fd, dir, buf, len) \
	emit_call((conn), (fd), (dir), LIB_GO, (__u64)(buf), (len))
#define KS_GO_IN_SCOPE(tgid) in_scope(tgid)
#include "go_tls.h"
#endif
