//! The module's real-time clock (`AT+CCLK`, TS 27.007 §8.15), every family: local time and the
//! zone in quarter hours, `"yy/MM/dd,hh:mm:ss±zz"`. It runs from 2004-01-01 00:00:00 at power-on
//! until the host sets it or the network's time arrives (`AT+CLTS=1` on the SIMCom families,
//! `docs/v250.md` "Network time"); the network's time is what the driver gives the core ([`Io::utc`]).

use tokio::time::Instant;
use vmodem_at::{Command, Reply};

use super::args::Args;
use super::cellular::{Cellular, info};
use super::{Ctx, Entry, Io, Outcome};

/// 2004-01-01 00:00:00, the clock at power-on (Unix seconds).
const POWER_ON: i64 = 1_072_915_200;
/// The widest zone `AT+CCLK` takes, in quarter hours (TS 27.007 §8.15: -96...+96).
const ZONE_MAX: i8 = 96;

/// A clock: local time `base` (seconds, counted as if UTC) at `at` (its power-on until then),
/// in zone `zone`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: i64,
    at: Option<Instant>,
    zone: i8,
}

impl Default for Clock {
    /// A clock not yet powered: it starts at the power-on time when it is first read.
    fn default() -> Self {
        Clock { base: POWER_ON, at: None, zone: 0 }
    }
}

impl Clock {
    /// The clock at power-on, at `now`.
    pub fn power_on(now: Instant) -> Self {
        Clock { base: POWER_ON, at: Some(now), zone: 0 }
    }

    /// Sets the local time to `local` (seconds, as if UTC) in `zone`, at `now`.
    pub fn set(&mut self, now: Instant, local: i64, zone: i8) {
        *self = Clock { base: local, at: Some(now), zone };
    }

    /// Sets it from the network's time `utc` in `zone` (quarter hours east of UTC).
    pub fn sync(&mut self, now: Instant, utc: i64, zone: i8) {
        self.set(now, utc + i64::from(zone) * 900, zone);
    }

    /// Local time at `now`, as the TS 27.007 text `yy/MM/dd,hh:mm:ss±zz`.
    pub fn text(&self, now: Instant) -> String {
        let elapsed = self.at.map_or(0, |at| now.saturating_duration_since(at).as_secs() as i64);
        let local = self.base + elapsed;
        let t = civil(local);
        let sign = if self.zone < 0 { '-' } else { '+' };
        format!(
            "{:02}/{:02}/{:02},{:02}:{:02}:{:02}{sign}{:02}",
            t.year().rem_euclid(100),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            self.zone.unsigned_abs()
        )
    }
}

/// `seconds` (counted as if UTC) as a calendar time; the power-on time if out of range.
fn civil(seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(seconds).unwrap_or_else(|_| {
        time::OffsetDateTime::from_unix_timestamp(POWER_ON).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    })
}

/// `yy/MM/dd,hh:mm:ss±zz` as local seconds (as if UTC, years 2000-2099) and the zone.
pub fn parse(text: &str) -> Option<(i64, i8)> {
    let (date, rest) = text.split_once(',')?;
    let (clock, zone) = rest.split_at_checked(8)?;
    let number = |s: &str| s.parse::<u8>().ok();
    let mut d = date.split('/').map(number);
    let (yy, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut c = clock.split(':').map(number);
    let (hour, minute, second) = (c.next()??, c.next()??, c.next()??);
    if d.next().is_some() || c.next().is_some() || yy > 99 {
        return None;
    }
    let zone: i8 = zone.strip_prefix('+').unwrap_or(zone).parse().ok()?;
    if !(-ZONE_MAX..=ZONE_MAX).contains(&zone) {
        return None;
    }
    let date = time::Date::from_calendar_date(2000 + i32::from(yy), time::Month::try_from(month).ok()?, day).ok()?;
    let time = time::Time::from_hms(hour, minute, second).ok()?;
    Some((time::PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp(), zone))
}

/// A family with a clock.
pub trait Timekeeping: Cellular {
    /// Its clock.
    fn clock(&mut self) -> &mut Clock;
}

/// `AT+CCLK`.
pub const fn commands<S: Timekeeping>() -> [Entry<S>; 1] {
    [Entry::new("+CCLK").test_ok().read(cclk_read::<S>).write(cclk_write::<S>)]
}

/// `AT+CCLK?`: `+CCLK: "yy/MM/dd,hh:mm:ss±zz"`.
fn cclk_read<S: Timekeeping>(s: &mut S, _: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let text = s.clock().text(ctx.io.now);
    info(ctx, &format!("+CCLK: \"{text}\""))
}

/// `AT+CCLK="yy/MM/dd,hh:mm:ss±zz"`: a time that is no date, or a zone beyond ±96, is the
/// family's bad value.
fn cclk_write<S: Timekeeping>(s: &mut S, cmd: &Command, ctx: &mut Ctx<'_, '_>) -> Outcome {
    let a = Args::of(cmd, s.bad());
    a.count(1..=1)?;
    let (local, zone) = parse(a.text(0, 24)?).ok_or(s.bad())?;
    s.clock().set(ctx.io.now, local, zone);
    Ok(Reply::Ok)
}

/// Sets the clock from the network's time, if the driver gave one: the local time in the
/// network's zone. Returns the time as UTC seconds and the zone, for the family's URCs.
pub fn sync<S: Timekeeping>(s: &mut S, io: &Io) -> Option<(i64, i8)> {
    let utc = io.utc?;
    let zone = s.network().timezone;
    s.clock().sync(io.now, utc, zone);
    Some((utc, zone))
}

/// The network's time `utc` as `yyyy,M,d,h,m,s` without padding, as SIMCom's `*PSUTTZ` prints it.
pub fn psuttz_time(utc: i64) -> String {
    let t = civil(utc);
    format!("{},{},{},{},{},{}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// UTC `utc` as `yyyy/MM/dd,hh:mm:ss`, as the SIM70x0's `+CNTP: 1,"<time>"` prints it.
pub fn ntp_time(utc: i64) -> String {
    let t = civil(utc);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    format!("{y:04}/{mo:02}/{d:02},{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_clock_runs_reads_and_sets_as_27007_writes_it() {
        let start = Instant::now();
        let mut clock = Clock::power_on(start);
        assert_eq!(clock.text(start + Duration::from_secs(61)), "04/01/01,00:01:01+00");
        let (local, zone) = parse("26/12/07,21:56:47+32").unwrap();
        clock.set(start, local, zone);
        assert_eq!(clock.text(start + Duration::from_secs(13)), "26/12/07,21:57:00+32");
        clock.sync(start, local - 8 * 3600, -20);
        assert_eq!(clock.text(start), "26/12/07,08:56:47-20");
        assert_eq!(parse("26/02/30,00:00:00+00"), None, "no such date");
        assert_eq!(parse("26/12/07,24:00:00+00"), None);
        assert_eq!(parse("26/12/07,21:56:47+97"), None);
        assert_eq!(parse("26/12/07,21:56+32"), None);
        assert_eq!(psuttz_time(local), "2026,12,7,21,56,47");
        assert_eq!(ntp_time(local), "2026/12/07,21:56:47");
    }
}
