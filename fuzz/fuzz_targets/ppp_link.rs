//! The modem's PPP link (`vmodem::ppp::link`) on arbitrary line bytes, as a host could send
//! them, for both flavours: the input is cut into pieces, and between pieces time moves on
//! (the restart timer fires), an IPv4 packet goes to the host or the modem closes the link,
//! as the input's bytes say. Invariants: no panic; the host's packets only once IPCP is up,
//! never more than the queue holds; nothing but the dead link's silence once dead.

#![no_main]

use std::net::Ipv4Addr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::time::Instant;
use vmodem::ppp::link::{Flavour, Link, LinkConfig, MAX_QUEUED};

fuzz_target!(|data: &[u8]| {
    let Some((&control, line)) = data.split_first() else { return };
    let flavour = if control & 1 == 0 { Flavour::Sim800 } else { Flavour::Sim7080 };
    let piece = usize::from(control >> 1).max(1);
    let host = Ipv4Addr::new(10, 0, 0, 2);
    let config = LinkConfig {
        flavour,
        credentials: (control & 0x80 != 0).then(|| ("user".into(), "pass".into())),
        host,
        dns: [Ipv4Addr::new(10, 0, 0, 53), Ipv4Addr::new(10, 0, 1, 53)],
        mru: 1500,
        seed: u64::from(control),
    };
    let mut now = Instant::now();
    let mut link = Link::new(config, now);
    let mut out = Vec::new();
    for chunk in line.chunks(piece) {
        link.receive(now, chunk);
        let mut queued = 0;
        while link.poll_packet().is_some() {
            assert!(link.is_up() || link.is_dead(), "a packet before IPCP was up");
            queued += 1;
        }
        assert!(queued <= MAX_QUEUED);
        match chunk[0] % 8 {
            0 => now += Duration::from_secs(3),
            1 => {
                let mut packet = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1];
                packet.extend(host.octets());
                link.send_packet(&packet);
            }
            2 if chunk.len() > 1 && chunk[1] == 0xC1 => link.close(now),
            _ => {}
        }
        if link.poll_timeout().is_some_and(|t| t <= now) {
            link.handle_timeout(now);
        }
        let dead = link.is_dead();
        out.clear();
        link.take_output(&mut out);
        if dead {
            link.receive(now, chunk);
            out.clear();
            link.take_output(&mut out);
            assert!(out.is_empty(), "a dead link spoke");
        }
    }
});
