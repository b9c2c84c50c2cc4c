//! The SIM7080's extended and ET transfers end to end against the three real FTP servers (see
//! tests/it/support/rig.rs): `AT+FTPEXTGET=2` of a 64 MiB file into the module file system,
//! `AT+FTPEXTGET=1` into RAM read back with `AT+FTPEXTGET=3`, `AT+FTPEXTPUT` loaded in pieces
//! then uploaded with `AT+FTPPUT=1`, and the DLE/ETX streams of `AT+FTPETGET` (64 MiB) and
//! `AT+FTPETPUT` with every byte value and long runs of 0x03 and 0x10. Bytes are checked by
//! SHA-256, on the module file system's disk and on the server's.

use crate::support::{at_host, rig};

use at_host::Final;
use rig::*;
use sha2::{Digest, Sha256};
use vmodem::net::{Fault, Role};

/// `AT+FTPEXTGET=2` of a 64 MiB file into /fota/: `+FTPEXTGETFILE: 1,0`, `AT+FTPTOFSST`
/// reports it complete, and the module's file is the server's, byte for byte.
async fn extget_to_file_system(server: Server) {
    const SIZE: usize = 64 << 20;
    let image = pattern(SIZE, 7);
    server.write("image.bin", &image);
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"image.bin\"").await;
    m.ok("AT+FTPEXTGET=2,1,\"image.bin\"").await;
    assert_eq!(m.session_end("+FTPEXTGETFILE").await.code, 0);
    assert_eq!(m.ok("AT+FTPTOFSST").await, [format!("+FTPTOFSST: 0,0,{SIZE}")]);
    let stored = std::fs::read(m.module_file("fota", "image.bin")).expect("the downloaded file");
    assert_eq!(stored.len(), SIZE);
    assert_eq!(sha256(&stored), sha256(&image));
    m.ok("AT+CFSINIT").await;
    assert_eq!(m.ok("AT+CFSGFIS=1,\"image.bin\"").await, [format!("+CFSGFIS: {SIZE}")]);
    // A second download to the same name is refused; the file stays.
    m.error("AT+FTPEXTGET=2,1,\"image.bin\"").await;
    assert_idle(&mut m).await;
}

/// `AT+FTPEXTGET=1` of a 300 K file of every byte value, read back in 64 K blocks with
/// `AT+FTPEXTGET=3,<pos>,<len>`.
async fn extget_to_ram(server: Server) {
    let file = every_byte(1200);
    server.write("ram.bin", &file);
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"ram.bin\"").await;
    m.ok("AT+FTPEXTGET=1").await;
    assert_eq!(m.session_end("+FTPEXTGET").await.code, 0);
    assert_eq!(m.ok("AT+FTPEXTGET?").await, [format!("+FTPEXTGET: 1,{}", file.len())]);
    let mut read = Vec::new();
    while read.len() < file.len() {
        let cmd = format!("AT+FTPEXTGET=3,{},65536", read.len());
        let n = m.read_block_after(&cmd, "+FTPEXTGET: 3,", &mut read).await.expect("a block");
        assert!(n > 0);
    }
    assert_eq!(sha256(&read), sha256(&file));
    m.ok("AT+FTPEXTGET=0").await;
    assert_idle(&mut m).await;
}

/// `AT+FTPEXTPUT`: a 320 K buffer of every byte value loaded in four pieces, uploaded with
/// `AT+FTPPUT=1` (`+FTPPUT: 1,0` with no handshake), and the server has it whole.
async fn extput(server: Server) {
    let data = every_byte(1280);
    let mut m = server.modem().await;
    m.ok("AT+FTPPUTNAME=\"up.bin\"").await;
    m.ok("AT+FTPEXTPUT=1").await;
    for (i, piece) in data.chunks(data.len() / 4).enumerate() {
        let pos = i * piece.len();
        let cmd = format!("AT+FTPEXTPUT=2,{pos},{},10000", piece.len());
        let prompt = format!("+FTPEXTPUT: {pos},{}", piece.len());
        m.send_data(&cmd, &prompt, piece).await.expect("the piece is taken");
    }
    assert_eq!(m.ok("AT+FTPEXTPUT?").await, [format!("+FTPEXTPUT: 1,{}", data.len())]);
    m.ok("AT+FTPPUT=1").await;
    assert_eq!(m.session_end("+FTPPUT").await.code, 0);
    assert_eq!(sha256(&server.read("up.bin")), sha256(&data));
    m.ok("AT+FTPEXTPUT=0").await;
    assert_idle(&mut m).await;
}

/// A file with every byte value and long runs of the two bytes the ET escaping touches, then
/// `len` bytes of [`pattern`].
fn escaping_torture(len: usize) -> Vec<u8> {
    let mut data = every_byte(4);
    for run in [1, 2, 3, 1000] {
        data.extend(std::iter::repeat_n(0x03, run));
        data.extend(std::iter::repeat_n(0x10, run));
        data.extend([0x10, 0x03].repeat(run));
    }
    data.extend(pattern(len, 11));
    data
}

/// `AT+FTPETGET` of a 64 MiB file: the unescaped stream is the file.
async fn et_get(server: Server) {
    let file = escaping_torture(64 << 20);
    server.write("stream.bin", &file);
    let mut m = server.modem().await;
    m.ok("AT+FTPGETNAME=\"stream.bin\"").await;
    m.ok("AT+FTPETGET=1").await;
    let mut hash = Sha256::new();
    let (end, bytes) = m.et_get(|b| hash.update(b)).await;
    assert_eq!(end.code, 0);
    assert_eq!(bytes, file.len() as u64);
    assert_eq!(hex(&hash.finalize()), sha256(&file));
    assert_idle(&mut m).await;
}

/// `AT+FTPETPUT` of 8 MiB with every byte value and runs of 0x03 and 0x10: the server has
/// the file exactly.
async fn et_put(server: Server) {
    let file = escaping_torture(8 << 20);
    let mut m = server.modem().await;
    m.ok("AT+FTPPUTNAME=\"stream.bin\"").await;
    m.ok("AT+FTPETPUT=1").await;
    let (stream_end, end) = m.et_put(&file).await;
    assert_eq!((stream_end, end.code), (Some(Final::Ok), 0));
    assert_eq!(sha256(&server.read("stream.bin")), sha256(&file));
    assert_idle(&mut m).await;
}

/// `AT+FTPETPUT` of 8 MiB whose data connection breaks after 1 MiB: the stream still runs to
/// its ETX (the host leaves data mode as it planned; none of the file is taken for commands),
/// is answered `ERROR`, then `+FTPETPUT: 1,78`; the server never holds the whole file.
async fn et_put_cut_off(server: Server) {
    let file = escaping_torture(8 << 20);
    let mut m = server.modem_with_faults(vec![Fault::Reset { on: Role::Data, after: 1 << 20 }]).await;
    m.ok("AT+FTPPUTNAME=\"cut.bin\"").await;
    m.ok("AT+FTPETPUT=1").await;
    let (stream_end, end) = m.et_put(&file).await;
    assert_eq!((stream_end, end.code), (Some(Final::Error), 78));
    let stored = server.read_if_any("cut.bin");
    assert!(stored.len() <= 1 << 20, "the server has {} bytes", stored.len());
    assert_idle(&mut m).await;
}

scenarios!(extget_to_file_system, extget_to_ram, extput, et_get, et_put, et_put_cut_off);
