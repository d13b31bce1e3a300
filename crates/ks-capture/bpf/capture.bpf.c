// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// ks-capture eBPF packet source: a BPF_PROG_TYPE_SOCKET_FILTER program
// attached to an AF_PACKET socket bound to one interface. For every packet
// the socket would see (both directions, at the same tap as tcpdump) it
// copies the first SNAPLEN bytes, the wire length and a CLOCK_BOOTTIME
// timestamp into the EVENTS ring buffer, then returns 0 so the socket itself
// queues nothing.
//
// Record layout (little endian, as the host): struct rec below, then
// cap_len bytes of packet. Records are reserved in size classes (constant
// sizes, which bpf_ringbuf_reserve requires), so a record may be longer than
// 16 + cap_len; user space reads cap_len.
//
// Build: clang -target bpf -O2 -g -c capture.bpf.c (headers: linux-libc-dev
// for <linux/bpf.h>, libbpf-dev for <bpf/bpf_helpers.h>).

#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// Largest snaplen accepted; keep in sync with MAX_SNAPLEN in ebpf.rs.
#define MAX_SNAPLEN 262144
#define VLAN_TAG_LEN 4

struct rec {
	__u64 ts_ns;    // bpf_ktime_get_boot_ns()
	__u32 wire_len; // skb->len (+4 when a VLAN tag is put back)
	__u32 cap_len;  // bytes of packet that follow
	__u8 data[];
};

// Size set at load time by user space (EbpfConfig::ring_size).
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} EVENTS SEC(".maps");

// [0] packets seen (after the loopback de-duplication), [1] packets lost
// (ring buffer full, or the copy failed).
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} COUNTERS SEC(".maps");

// Set by user space at load time (aya EbpfLoader::override_global).
volatile const __u32 SNAPLEN = MAX_SNAPLEN;
// 1 on loopback: skip the PACKET_OUTGOING copy, as libpcap does.
volatile const __u32 SKIP_OUTGOING = 0;
// 1 when frames start with an Ethernet header: put an offloaded VLAN tag
// back after the MAC addresses, as libpcap does.
volatile const __u32 ETHERNET = 1;

// Forces lo <= v <= hi in the very register passed on, so the verifier sees
// the bound (clang otherwise checks a copy and passes the original).
#define CLAMP(v, lo, hi)                                              \
	asm volatile("if %[x] >= %[l] goto +1\n\t"                   \
		     "%[x] = %[l]\n\t"                                \
		     "if %[x] <= %[h] goto +1\n\t"                    \
		     "%[x] = %[h]\n\t"                                \
		     : [x] "+r"(v)                                     \
		     : [l] "i"(lo), [h] "i"(hi))

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&COUNTERS, &idx);
	if (v)
		*v += 1;
}

// Reserves a record with room for `class` bytes of packet and copies
// `cap` (1..=class, checked again here for the verifier) bytes into it.
static __always_inline int emit(struct __sk_buff *skb, __u64 ts, __u32 wire,
				__u32 cap, __u32 vlan, const __u32 class)
{
	struct rec *r = bpf_ringbuf_reserve(&EVENTS, sizeof(struct rec) + class, 0);
	if (!r) {
		count(1);
		return 0;
	}
	if (cap > class)
		cap = class;
	r->ts_ns = ts;
	r->wire_len = wire;
	r->cap_len = cap;
	int err = 0;
	if (vlan) {
		// MAC addresses, then the tag the kernel took out of the frame,
		// then the rest of the frame.
		__u8 head[16];
		err = bpf_skb_load_bytes(skb, 0, head, 12);
		__u16 proto = skb->vlan_proto; // network order already
		__u16 tci = bpf_htons((__u16)skb->vlan_tci);
		__builtin_memcpy(&head[12], &proto, 2);
		__builtin_memcpy(&head[14], &tci, 2);
		if (cap >= 16) {
			__builtin_memcpy(r->data, head, 16);
			__u64 rest = cap - 16;
			if (rest > 0 && !err) {
				CLAMP(rest, 1, class - 16);
				err = bpf_skb_load_bytes(skb, 12, r->data + 16, rest);
			}
		} else {
#pragma unroll
			for (int i = 0; i < 16; i++)
				if (i < cap && i < class)
					r->data[i] = head[i];
		}
	} else if (cap > 0) {
		__u64 n = cap;
		CLAMP(n, 1, class);
		err = bpf_skb_load_bytes(skb, 0, r->data, n);
	}
	if (err) {
		bpf_ringbuf_discard(r, 0);
		count(1);
		return 0;
	}
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("socket")
int ks_capture(struct __sk_buff *skb)
{
	if (SKIP_OUTGOING && skb->pkt_type == PACKET_OUTGOING)
		return 0;
	__u64 ts = bpf_ktime_get_boot_ns();
	__u32 wire = skb->len;
	__u32 vlan = ETHERNET && skb->vlan_present && wire >= 12;
	if (vlan)
		wire += VLAN_TAG_LEN;
	count(0);
	__u32 snap = SNAPLEN;
	if (snap > MAX_SNAPLEN)
		snap = MAX_SNAPLEN;
	__u32 cap = wire < snap ? wire : snap;

	// Constant-size reservations: the smallest class that holds `cap`.
	if (cap <= 64)
		return emit(skb, ts, wire, cap, vlan, 64);
	if (cap <= 128)
		return emit(skb, ts, wire, cap, vlan, 128);
	if (cap <= 256)
		return emit(skb, ts, wire, cap, vlan, 256);
	if (cap <= 512)
		return emit(skb, ts, wire, cap, vlan, 512);
	if (cap <= 1024)
		return emit(skb, ts, wire, cap, vlan, 1024);
	if (cap <= 1536)
		return emit(skb, ts, wire, cap, vlan, 1536);
	if (cap <= 2048)
		return emit(skb, ts, wire, cap, vlan, 2048);
	if (cap <= 4096)
		return emit(skb, ts, wire, cap, vlan, 4096);
	if (cap <= 9216)
		return emit(skb, ts, wire, cap, vlan, 9216);
	if (cap <= 16384)
		return emit(skb, ts, wire, cap, vlan, 16384);
	if (cap <= 32768)
		return emit(skb, ts, wire, cap, vlan, 32768);
	if (cap <= 65536)
		return emit(skb, ts, wire, cap, vlan, 65536);
	if (cap <= 131072)
		return emit(skb, ts, wire, cap, vlan, 131072);
	return emit(skb, ts, wire, cap, vlan, MAX_SNAPLEN);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
