//! Short messages (27.005) on the core, with a scripted SMS centre: the settings, sending in
//! text and PDU mode up to the centre's answer, a message arriving (stored and announced, or
//! routed to the host), reading, listing and deleting in both modes, and the failures.

use crate::core::testing::Bench;
use crate::family::Family;
use crate::network::NetworkEvent;
use crate::service::sms::job::{Event, Request as SmsRequest};
use crate::sms::centre::{CentreError, Incoming};
use crate::sms::pdu::{self, Address, Coding, Deliver, Timestamp, UserData};

const OK: &str = "\r\nOK\r\n";
const PROMPT: &str = "\r\n> ";

/// A message from `from` with `text`, taken by the centre at 02/01/30 20:40:31 UTC.
fn deliver(from: &str, text: &str, coding: Coding) -> Deliver {
    Deliver {
        smsc: None,
        more_messages_to_send: false,
        status_report_indication: false,
        reply_path: false,
        originator: Address::parse(from),
        pid: 0,
        dcs: coding.dcs(None),
        timestamp: Timestamp { year: 2, month: 1, day: 30, hour: 20, minute: 40, second: 31, quarter_hours: 0 },
        user_data: UserData::from_text(text, coding).unwrap(),
    }
}

#[test]
fn the_settings_read_back_with_the_family_s_ranges() {
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+CMGF?"), "\r\n+CMGF: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMGF=?"), "\r\n+CMGF: (0,1)\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMGF=1"), OK);
    assert_eq!(b.at("AT+CMGF=2"), "\r\nERROR\r\n");
    assert_eq!(
        b.at("AT+CSCS=?"),
        "\r\n+CSCS: (\"IRA\",\"GSM\",\"UCS2\",\"HEX\",\"PCCP\",\"PCDN\",\"8859-1\")\r\n\r\nOK\r\n"
    );
    assert_eq!(b.at("AT+CSCS=\"GSM\""), OK);
    assert_eq!(b.at("AT+CSCS?"), "\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CSCA?"), "\r\n+CSCA: \"+8613800210500\",145\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CSMP?"), "\r\n+CSMP: 17,167,0,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CPMS?"), "\r\n+CPMS: \"SM_P\",0,50,\"SM_P\",0,50,\"SM_P\",0,50\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CPMS=\"ME\",\"ME\",\"ME\""), "\r\n+CPMS: 0,50,0,50,0,50\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CPMS=\"XX\""), "\r\n+CMS ERROR: 302\r\n");
    assert_eq!(b.at("AT+CNMI?"), "\r\n+CNMI: 2,1,0,0,0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CNMI=2,1,0,2"), OK, "python-gsmmodem's");
    assert_eq!(b.at("AT+CNUM"), "\r\n+CNUM: \"\",\"+8613800000001\",145\r\n\r\nOK\r\n");

    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CPMS=?"), "\r\n+CPMS: (\"SM\"),(\"SM\"),(\"SM\")\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CNMI=2,1,0,1,0"), "\r\n+CMS ERROR: 303\r\n", "M7080 §4.2.8's example");
    assert_eq!(b.at("AT+CNMI=2,1,0,2,0"), OK);
    assert_eq!(b.at("AT+CMGF=?"), "\r\n+CMGF: (0-1)\r\n\r\nOK\r\n");
}

#[test]
fn a_text_message_goes_to_the_centre_and_cmgs_answers_its_reference() {
    let mut b = Bench::new(Family::Sim800);
    b.at("AT+CMGF=1");
    assert_eq!(b.at("AT+CMGS=\"+8613918181234\""), PROMPT);
    b.send(b"This is a test\x1a");
    assert_eq!(b.take(), "", "waits for the centre");
    let (job, parts) = b.started_sms();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].destination.number, "+8613918181234");
    assert_eq!(parts[0].user_data.text(Coding::Gsm7).as_deref(), Some("This is a test"));
    b.event(job, Event::Submitted(Ok(())));
    assert_eq!(b.take(), "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    // ESC abandons the next one: OK, nothing sent.
    assert_eq!(b.at("AT+CMGS=\"123\""), PROMPT);
    b.send(b"never\x1b");
    assert_eq!(b.take(), OK);
    assert!(!b.has_started());
    // A long text goes as a concatenated message under one reference.
    assert_eq!(b.at("AT+CMGS=\"123\""), PROMPT);
    b.send(&[b'x'; 400]);
    b.send(b"\x1a");
    let (job, parts) = b.started_sms();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts.iter().map(|p| p.message_ref).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(parts.iter().all(|p| p.user_data.concat().is_some_and(|c| c.parts == 3)));
    b.event(job, Event::Submitted(Err(CentreError::Gone("123".into()))));
    assert_eq!(b.take(), "\r\n+CMS ERROR: 500\r\n");
}

#[test]
fn a_pdu_goes_as_written_and_a_bad_one_is_304() {
    let mut b = Bench::new(Family::Sim7080);
    assert_eq!(b.at("AT+CMGS=16"), PROMPT);
    b.send(b"0001000D91945111325476F8000002E834\x1a");
    let (job, parts) = b.started_sms();
    assert_eq!(parts[0].destination.number, "+4915112345678");
    assert_eq!(parts[0].user_data.text(Coding::Gsm7).as_deref(), Some("hi"));
    b.event(job, Event::Submitted(Ok(())));
    assert_eq!(b.take(), "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMGS=17"), PROMPT);
    b.send(b"0001000D91945111325476F8000002E834\x1a");
    assert_eq!(b.take(), "\r\n+CMS ERROR: 304\r\n", "<length> disagrees with the PDU");
    assert_eq!(b.at("AT+CMGS=3"), PROMPT);
    b.send(b"00zz\x1a");
    assert_eq!(b.take(), "\r\n+CMS ERROR: 304\r\n");
    assert_eq!(b.at("AT+CMGS=999"), "\r\n+CMS ERROR: 304\r\n");
    assert!(!b.has_started());
}

#[test]
fn an_arriving_message_is_stored_announced_read_listed_and_deleted() {
    let mut b = Bench::new(Family::Sim800);
    b.at("AT+CMGF=1");
    b.sms(Incoming::Deliver(deliver("+8613918186089", "This is a test", Coding::Gsm7)));
    assert_eq!(b.take(), "\r\n+CMTI: \"SM\",1\r\n");
    b.sms(Incoming::Deliver(deliver("+8613918186089", "Test again", Coding::Gsm7)));
    assert_eq!(b.take(), "\r\n+CMTI: \"SM\",2\r\n");
    assert_eq!(
        b.at("AT+CMGR=1"),
        "\r\n+CMGR: \"REC UNREAD\",\"+8613918186089\",\"\",\"02/01/30,20:40:31+00\"\r\nThis is a test\r\n\r\nOK\r\n"
    );
    assert_eq!(
        b.at("AT+CMGL=\"ALL\""),
        concat!(
            "\r\n+CMGL: 1,\"REC READ\",\"+8613918186089\",\"\",\"02/01/30,20:40:31+00\"\r\nThis is a test\r\n",
            "+CMGL: 2,\"REC UNREAD\",\"+8613918186089\",\"\",\"02/01/30,20:40:31+00\"\r\nTest again\r\n\r\nOK\r\n"
        )
    );
    assert_eq!(b.at("AT+CMGL"), OK, "no unread left");
    assert_eq!(b.at("AT+CMGR=51"), "\r\n+CMS ERROR: 321\r\n");
    assert_eq!(b.at("AT+CMGR=3"), OK, "an empty place");
    assert_eq!(b.at("AT+CMGD=1,0"), OK);
    assert_eq!(b.at("AT+CMGD=?"), "\r\n+CMGD: (2),(0-4)\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMGD=1,4"), OK);
    assert_eq!(b.at("AT+CPMS?"), "\r\n+CPMS: \"SM_P\",0,50,\"SM_P\",0,50,\"SM_P\",0,50\r\n\r\nOK\r\n");

    // PDU mode: the stored message as a DELIVER with the SIM's centre in front.
    b.at("AT+CMGF=0");
    b.sms(Incoming::Deliver(deliver("+8613918186089", "hi", Coding::Gsm7)));
    assert_eq!(b.take(), "\r\n+CMTI: \"SM\",1\r\n");
    let listed = b.at("AT+CMGL=4");
    let expected = {
        let mut shown = deliver("+8613918186089", "hi", Coding::Gsm7);
        shown.smsc = Some(Address::parse("+8613800210500"));
        let (octets, len) = shown.encode().unwrap();
        format!("\r\n+CMGL: 1,0,,{len}\r\n{}\r\n\r\nOK\r\n", pdu::to_hex(&octets))
    };
    assert_eq!(listed, expected);
}

#[test]
fn cnmi_routes_a_message_to_the_host_or_keeps_it_quiet() {
    let mut b = Bench::new(Family::Sim800);
    b.at("AT+CMGF=1");
    b.at("AT+CSCS=\"UCS2\"");
    assert_eq!(b.at("AT+CNMI=2,2,0,0,0"), OK);
    b.sms(Incoming::Deliver(deliver("+8613918186089", "Привет", Coding::Ucs2)));
    assert_eq!(
        b.take(),
        "\r\n+CMT: \"002B0038003600310033003900310038003100380036003000380039\",\"\",\"02/01/30,20:40:31+00\"\r\n041F04400438043204350442\r\n"
    );
    assert_eq!(b.at("AT+CPMS?"), "\r\n+CPMS: \"SM_P\",0,50,\"SM_P\",0,50,\"SM_P\",0,50\r\n\r\nOK\r\n", "not stored");
    assert_eq!(b.at("AT+CNMI=0,0"), OK);
    b.sms(Incoming::Deliver(deliver("+1", "quiet", Coding::Gsm7)));
    assert_eq!(b.take(), "", "stored without a word");
    assert_eq!(b.at("AT+CPMS?"), "\r\n+CPMS: \"SM_P\",1,50,\"SM_P\",1,50,\"SM_P\",1,50\r\n\r\nOK\r\n");
}

#[test]
fn a_full_storage_and_no_network_are_reported() {
    let mut module = crate::config::ModuleConfig { family: Family::Sim7080, ..Default::default() };
    module.sms.sim_capacity = 1;
    let mut b = Bench::with(module);
    b.at("AT+CMGF=1");
    assert_eq!(b.at("AT+CMGW=\"123\""), PROMPT);
    b.send(b"kept\x1a");
    assert_eq!(b.take(), "\r\n+CMGW: 1\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMGW=\"123\""), PROMPT);
    b.send(b"no room\x1a");
    assert_eq!(b.take(), "\r\n+CMS ERROR: 322\r\n");
    assert_eq!(b.at("AT+CMGR=1"), "\r\n+CMGR: \"STO UNSENT\",\"123\",\"\"\r\nkept\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMSS=1"), "");
    let (job, parts) = b.started_sms();
    assert_eq!(parts[0].destination.number, "123");
    b.event(job, Event::Submitted(Ok(())));
    assert_eq!(b.take(), "\r\n+CMSS: 0\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMGL=\"STO SENT\""), "\r\n+CMGL: 1,\"STO SENT\",\"123\",\"\",\r\nkept\r\n\r\nOK\r\n");
    b.network(NetworkEvent::LoseRegistration);
    b.take();
    assert_eq!(b.at("AT+CMGS=\"123\""), PROMPT);
    b.send(b"lost\x1a");
    assert_eq!(b.take(), "\r\n+CMS ERROR: 331\r\n");
}

#[test]
fn a_message_for_a_full_storage_goes_back_to_the_centre_until_a_deletion_makes_room() {
    let mut module = crate::config::ModuleConfig { family: Family::Sim800, ..Default::default() };
    module.sms.sim_capacity = 1;
    let mut b = Bench::with(module);
    b.sms(Incoming::Deliver(deliver("+1", "first", Coding::Gsm7)));
    assert_eq!(b.take(), "\r\n+CMTI: \"SM\",1\r\n");
    b.sms(Incoming::Deliver(deliver("+1", "second", Coding::Gsm7)));
    assert_eq!(b.take(), "", "nothing on the line");
    let (_, owner, request) = b.started();
    assert_eq!(owner, crate::dialect::Owner::Sms);
    let crate::service::Request::Sms(SmsRequest::Hold { to, deliver }) = request else { panic!("{request:?}") };
    assert_eq!((to.as_str(), deliver.text().as_deref()), ("+8613800000001", Some("second")));
    assert_eq!(b.at("AT+CPMS?"), "\r\n+CPMS: \"SM_P\",1,1,\"SM_P\",1,1,\"SM_P\",1,1\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CMGD=1"), OK);
    let (_, _, request) = b.started();
    assert!(matches!(request, crate::service::Request::Sms(SmsRequest::Release { .. })), "{request:?}");
    assert_eq!(b.at("AT+CMGD=1"), OK);
    assert!(!b.has_started(), "told once");
}

#[test]
fn ussd_answers_from_the_operator_s_menu_and_keeps_a_session_for_choices() {
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+CUSD=?"), "\r\n+CUSD: (0-2)\r\n\r\nOK\r\n");
    assert_eq!(b.at("AT+CUSD?"), "\r\n+CUSD: 0\r\n\r\nOK\r\n");
    assert_eq!(
        b.at("AT+CUSD=1,\"*100#\",15"),
        "\r\nOK\r\n\r\n+CUSD: 0,\"Balance: 12.34 CNY. Valid until 2027-01-31.\",15\r\n"
    );
    assert_eq!(b.at("AT+CUSD=1,\"*101#\",15"), "\r\nOK\r\n\r\n+CUSD: 1,\"1. Data balance\n2. Top up\",15\r\n");
    assert_eq!(b.at("AT+CUSD=1,\"1\",15"), "\r\nOK\r\n\r\n+CUSD: 0,\"Data left: 512 MB.\",15\r\n");
    assert_eq!(b.at("AT+CUSD=1,\"1\",15"), "\r\nOK\r\n\r\n+CUSD: 4\r\n", "no session any more");
    assert_eq!(b.at("AT+CUSD=1,\"*101#\""), "\r\nOK\r\n\r\n+CUSD: 1,\"1. Data balance\n2. Top up\",15\r\n");
    assert_eq!(b.at("AT+CUSD=2"), OK, "the session ends");
    assert_eq!(b.at("AT+CUSD=1,\"2\""), "\r\nOK\r\n\r\n+CUSD: 4\r\n");
    assert_eq!(b.at("AT+CUSD=0,\"*100#\""), OK, "sent, the answer not shown");
    assert_eq!(b.at("AT+CUSD=3"), "\r\nERROR\r\n");
    b.network(NetworkEvent::LoseRegistration);
    b.take();
    assert_eq!(b.at("AT+CUSD=1,\"*100#\""), "\r\nERROR\r\n", "no network (CME 30 with AT+CMEE=1)");
}

#[test]
fn a_prompt_left_open_or_overfilled_sends_nothing() {
    let mut b = Bench::new(Family::Sim800);
    b.at("AT+CMGF=1");
    assert_eq!(b.at("AT+CMGS=\"123\""), PROMPT);
    b.send(b"half a thought");
    b.advance(std::time::Duration::from_secs(59));
    assert_eq!(b.take(), "", "still open");
    b.advance(std::time::Duration::from_secs(2));
    assert_eq!(b.take(), "\r\n+CMS ERROR: 500\r\n", "60 s without Ctrl-Z");
    assert_eq!(b.at("AT+CMGS=\"123\""), PROMPT);
    b.send(&[b'a'; 1025]);
    b.send(b"\x1a");
    assert_eq!(b.take(), "\r\n+CMS ERROR: 305\r\n", "beyond 1024 characters");
    assert!(!b.has_started());
    assert_eq!(b.at("AT"), OK, "the line is back");
}

#[test]
fn the_configured_inbox_is_on_the_sim_at_power_on_and_outlives_a_restart() {
    let mut module = crate::config::ModuleConfig { family: Family::Sim7080, ..Default::default() };
    let message =
        |from: &str, text: &str| crate::config::InboxMessage { from: from.into(), text: text.into(), flash: false };
    module.sms.inbox = vec![message("+8613900000000", "Welcome"), message("Operator", "Привет")];
    let mut b = Bench::with(module);
    assert_eq!(b.at("AT+CPMS?"), "\r\n+CPMS: \"SM\",2,50,\"SM\",2,50,\"SM\",2,50\r\n\r\nOK\r\n");
    b.at("AT+CMGF=1");
    assert_eq!(
        b.at("AT+CMGR=1"),
        "\r\n+CMGR: \"REC UNREAD\",\"+8613900000000\",\"\",\"04/01/01,00:00:00+00\"\r\nWelcome\r\n\r\nOK\r\n"
    );
    b.at("AT+CMGD=2");
    b.at("AT+CFUN=1,1");
    b.take();
    b.at("ATE0");
    assert_eq!(
        b.at("AT+CPMS?"),
        "\r\n+CPMS: \"SM\",1,50,\"SM\",1,50,\"SM\",1,50\r\n\r\nOK\r\n",
        "the SIM keeps what it had"
    );
}

/// The report that message `mr` to +8613900000002 was received (TP-ST 0), taken at
/// 26/12/07 13:56:47 and delivered 2 s later.
fn report(mr: u8) -> crate::sms::pdu::StatusReport {
    crate::sms::pdu::StatusReport {
        message_ref: mr,
        recipient: Address::parse("+8613900000002"),
        timestamp: Timestamp { year: 26, month: 12, day: 7, hour: 13, minute: 56, second: 47, quarter_hours: 0 },
        discharge: Timestamp { year: 26, month: 12, day: 7, hour: 13, minute: 56, second: 49, quarter_hours: 0 },
        status: 0,
    }
}

#[test]
fn a_status_report_goes_to_the_host_with_ds_1_and_nowhere_otherwise() {
    let mut b = Bench::new(Family::Sim7080);
    let report = report(7);
    b.sms(Incoming::Report(report.clone()));
    assert_eq!(b.take(), "", "<ds> 0");
    assert_eq!(b.at("AT+CNMI=1,1,0,1,0"), OK);
    b.sms(Incoming::Report(report.clone()));
    let (octets, len) = report.encode(Some(&Address::parse("+8613800210500"))).unwrap();
    assert_eq!(b.take(), format!("\r\n+CDS: {len}\r\n{}\r\n", pdu::to_hex(&octets)));
    b.at("AT+CMGF=1");
    b.sms(Incoming::Report(report));
    assert_eq!(
        b.take(),
        "\r\n+CDS: 6,7,\"+8613900000002\",145,\"26/12/07,13:56:47+00\",\"26/12/07,13:56:49+00\",0\r\n"
    );
}

#[test]
fn with_ds_2_a_status_report_is_stored_announced_and_read_back() {
    let mut b = Bench::new(Family::Sim800);
    assert_eq!(b.at("AT+CNMI=2,1,0,2"), OK);
    let report = report(9);
    b.sms(Incoming::Report(report.clone()));
    assert_eq!(b.take(), "\r\n+CDSI: \"SM\",1\r\n");
    let (octets, len) = report.encode(Some(&Address::parse("+8613800210500"))).unwrap();
    assert_eq!(b.at("AT+CMGR=1"), format!("\r\n+CMGR: 0,,{len}\r\n{}\r\n\r\nOK\r\n", pdu::to_hex(&octets)));
    b.at("AT+CMGF=1");
    assert_eq!(
        b.at("AT+CMGL=\"ALL\""),
        "\r\n+CMGL: 1,\"REC READ\",6,9,\"+8613900000002\",145,\"26/12/07,13:56:47+00\",\"26/12/07,13:56:49+00\",0\r\n\r\nOK\r\n"
    );
    assert_eq!(b.at("AT+CMSS=1"), "\r\n+CMS ERROR: 302\r\n", "a report is not sent");
}
