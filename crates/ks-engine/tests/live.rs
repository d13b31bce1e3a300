//! `ks_engine::live` and `Engine::tick`, on real captures: what the live path
//! gives equals what offline dissection gives, idle flows finish on a tick
//! without any packet, and the stop flag and packet limit end a run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ks_capture::{CaptureError, FileSource, Packet, PacketSource, SourceEvent};
use ks_engine::live::{Live, LiveEvent, LiveOptions, LiveSource};
use ks_engine::{Dissector, Engine, EngineConfig, Output};

fn capture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/pcap")
        .join(rel)
}

fn offline(path: &Path) -> Vec<Output> {
    Dissector::new(FileSource::open(path).unwrap(), EngineConfig::default())
        .map(|o| o.unwrap())
        .collect()
}

fn key(o: &Output) -> String {
    format!("{o:?}")
}

#[test]
fn two_sources_give_what_each_gives_offline() {
    let a = capture("http1/zeek_http_bro-org.pcap");
    let b = capture("dns/tcpdump_dns_udp.pcap");
    let live = Live::start(
        vec![
            LiveSource::new("a", FileSource::open(&a).unwrap()),
            LiveSource::new("b", FileSource::open(&b).unwrap()),
        ],
        EngineConfig::default(),
        LiveOptions::default(),
    );
    let mut got: Vec<String> = Vec::new();
    for ev in &live {
        match ev {
            LiveEvent::Output(o) => got.push(key(&o)),
            LiveEvent::Error { source, error } => panic!("{source}: {error}"),
        }
    }
    let summary = live.finish();
    let mut want: Vec<String> = offline(&a).iter().chain(&offline(&b)).map(key).collect();
    assert!(want.len() > 10, "the captures give entries");
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let packets = |p: &Path| {
        let mut s = FileSource::open(p).unwrap();
        let mut n = 0;
        while s.next_packet().unwrap().is_some() {
            n += 1;
        }
        n
    };
    assert_eq!(summary.stats.packets, packets(&a) + packets(&b));
    let mut names: Vec<_> = summary
        .sources
        .iter()
        .map(|(n, s)| (n.clone(), *s))
        .collect();
    names.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(names, vec![("a".into(), None), ("b".into(), None)]);
}

#[test]
fn the_packet_limit_is_exact_over_all_sources() {
    let a = capture("http1/zeek_http_bro-org.pcap");
    let live = Live::start(
        vec![
            LiveSource::new("a1", FileSource::open(&a).unwrap()),
            LiveSource::new("a2", FileSource::open(&a).unwrap()),
        ],
        EngineConfig::default(),
        LiveOptions {
            packet_limit: Some(17),
            ..LiveOptions::default()
        },
    );
    for _ in &live {}
    assert_eq!(live.finish().stats.packets, 17);
}

#[test]
fn a_tick_finishes_idle_flows_without_a_packet() {
    let path = capture("dns/tcpdump_dns_udp.pcap");
    let cfg = EngineConfig::default();
    let idle = cfg.flow_idle_ns;
    let mut engine = Engine::new(cfg);
    let mut src = FileSource::open(&path).unwrap();
    let mut last = 0;
    while let Some(p) = src.next_packet().unwrap() {
        last = p.ts_ns;
        engine.process(&p);
    }
    let flows = |e: &mut Engine| {
        let mut n = 0;
        while let Some(o) = e.next_output() {
            n += matches!(o, Output::Flow(_)) as usize;
        }
        n
    };
    let before = flows(&mut engine);
    assert!(engine.active_flows() > 0, "UDP flows stay open until idle");
    let open = engine.active_flows();
    engine.tick(last + 2_000_000_000);
    assert_eq!(flows(&mut engine), 0, "not idle long enough yet");
    engine.tick(last + idle + 2_000_000_000);
    assert_eq!(
        flows(&mut engine),
        open,
        "every open flow finished by the tick"
    );
    assert_eq!(engine.active_flows(), 0);
    engine.finish();
    assert_eq!(flows(&mut engine), 0, "nothing left for the end");
    // The same flows as offline, where the end of the file finishes them.
    let offline_flows = offline(&path)
        .iter()
        .filter(|o| matches!(o, Output::Flow(_)))
        .count();
    assert_eq!(before + open, offline_flows);
}

/// A live-like source: one packet, then idle until stopped.
struct Quiet {
    frame: Vec<u8>,
    sent: bool,
    stop: Arc<AtomicBool>,
}

impl PacketSource for Quiet {
    fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        match self.next_event()? {
            Some(SourceEvent::Packet(p)) => Ok(Some(p)),
            _ => Ok(None),
        }
    }
    fn next_event(&mut self) -> Result<Option<SourceEvent<'_>>, CaptureError> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if !self.sent {
            self.sent = true;
            return Ok(Some(SourceEvent::Packet(Packet {
                frame: 1,
                ts_ns: 1_000_000_000,
                link_type: ks_capture::linktype::ETHERNET,
                interface_id: 0,
                orig_len: self.frame.len() as u32,
                data: &self.frame,
            })));
        }
        std::thread::sleep(Duration::from_millis(5));
        // A clock far past the flow's idle timeout.
        Ok(Some(SourceEvent::Idle {
            now_ns: 1_000_000_000_000,
        }))
    }
    fn position(&self) -> u64 {
        0
    }
    fn stop_handle(&self) -> Option<Arc<AtomicBool>> {
        Some(Arc::clone(&self.stop))
    }
}

#[test]
fn a_quiet_source_still_gets_its_flow_finished_and_stops_on_request() {
    // One UDP packet (first frame of the DNS capture).
    let path = capture("dns/tcpdump_dns_udp.pcap");
    let mut f = FileSource::open(&path).unwrap();
    let frame = f.next_packet().unwrap().unwrap().data.to_vec();
    let live = Live::start(
        vec![LiveSource::new(
            "quiet",
            Quiet {
                frame,
                sent: false,
                stop: Arc::new(AtomicBool::new(false)),
            },
        )],
        EngineConfig::default(),
        LiveOptions::default(),
    );
    // The idle tick finishes the flow while the source is still running (no
    // end of input, no stop yet): the unanswered query comes out as its
    // entry, then the flow record.
    let next = || {
        live.recv_timeout(Duration::from_secs(10))
            .expect("the idle flow is finished by a tick")
    };
    match next() {
        LiveEvent::Output(Output::Entry(e)) => {
            assert_eq!(e.protocol.to_string(), "dns");
            assert_eq!(e.error.map(|x| x.kind).as_deref(), Some("no-response"));
        }
        ev => panic!("{ev:?}"),
    }
    assert!(matches!(next(), LiveEvent::Output(Output::Flow(_))));
    live.stop_handle().store(true, Ordering::Relaxed);
    let summary = live.finish();
    assert_eq!(summary.stats.packets, 1);
}
