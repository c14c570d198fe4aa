//! Cell parsers: timestamps, amounts, labels, statuses. Each returns the reason a cell is bad,
//! written for the rejects file ("bad timestamp …", "non-numeric amount …").
//!
//! The common cases (ISO 8601 in UTC, epoch numbers, dot-decimal amounts) have hand-written
//! fast paths because they run once per row on a million-row file; format strings and named
//! time zones go through `jiff`.

use super::mapping::{AmountSpec, TimestampSpec};

/// Earliest and latest instants accepted (1900-01-01 and 2200-01-01, UTC): anything outside is
/// a unit mistake (milliseconds read as seconds) rather than a real transaction.
const MIN_SECS: i64 = -2_208_988_800;
const MAX_SECS: i64 = 7_258_118_400;

/// Parses one time column into Unix seconds.
#[derive(Clone, Debug)]
pub struct TimeParser {
    kind: TimeKind,
    zone: Zone,
}

#[derive(Clone, Debug)]
enum TimeKind {
    Iso,
    EpochSecs,
    EpochMillis,
    Auto,
    Steps { step_secs: i64, origin_secs: i64 },
    Strftime(String),
}

#[derive(Clone, Debug)]
enum Zone {
    Fixed { offset_secs: i64 },
    Named(jiff::tz::TimeZone),
}

impl TimeParser {
    /// Compiles a mapping's timestamp spec; the error says what is wrong with the spec.
    pub fn new(spec: &TimestampSpec) -> Result<Self, String> {
        let zone = parse_zone(&spec.timezone)?;
        let kind = match spec.format.trim() {
            "iso8601" | "iso" | "rfc3339" => TimeKind::Iso,
            "epoch_secs" | "epoch" | "unix" => TimeKind::EpochSecs,
            "epoch_millis" | "epoch_ms" => TimeKind::EpochMillis,
            "auto" => TimeKind::Auto,
            "steps" => {
                let step_secs = spec.step_secs.ok_or(
                    "timestamp format \"steps\" needs step_secs (e.g. 3600 for hourly steps)",
                )?;
                if step_secs <= 0 {
                    return Err(format!(
                        "timestamp.step_secs must be positive, not {step_secs}"
                    ));
                }
                let origin = spec.origin.as_deref().ok_or(
                    "timestamp format \"steps\" needs origin (the instant of step 0, ISO 8601)",
                )?;
                let utc = TimeParser {
                    kind: TimeKind::Iso,
                    zone: Zone::Fixed { offset_secs: 0 },
                };
                let origin_secs = utc
                    .parse(origin)
                    .map_err(|e| format!("timestamp.origin {origin:?}: {e}"))?;
                TimeKind::Steps {
                    step_secs,
                    origin_secs,
                }
            }
            f if f.contains('%') => {
                // Validate the format string once by formatting a known instant with it.
                let probe = jiff::Timestamp::UNIX_EPOCH;
                jiff::fmt::strtime::format(f, &probe.to_zoned_datetime(jiff::tz::TimeZone::UTC))
                    .map_err(|e| {
                        format!("timestamp format {f:?} is not a valid format string: {e}")
                    })?;
                TimeKind::Strftime(f.to_string())
            }
            other => {
                return Err(format!(
                    "unknown timestamp format {other:?}; use iso8601, epoch_secs, epoch_millis, steps, auto or a format string such as \"%d/%m/%Y %H:%M\""
                ));
            }
        };
        Ok(Self { kind, zone })
    }

    /// Unix seconds for one cell, or why it is not a time.
    pub fn parse(&self, cell: &str) -> Result<i64, String> {
        let s = cell.trim();
        if s.is_empty() {
            return Err("missing timestamp".into());
        }
        let secs = match &self.kind {
            TimeKind::Iso => self.iso(s)?,
            TimeKind::EpochSecs => epoch_secs(s)?,
            TimeKind::EpochMillis => epoch_millis(s)?,
            TimeKind::Auto => {
                if looks_numeric(s) {
                    let n: f64 = s.parse().map_err(|_| bad_time(s, "a number"))?;
                    if n.abs() >= 1e11 {
                        epoch_millis(s)?
                    } else {
                        epoch_secs(s)?
                    }
                } else {
                    self.iso(s)?
                }
            }
            TimeKind::Steps {
                step_secs,
                origin_secs,
            } => {
                let step: Option<i64> = match s.parse::<i64>() {
                    Ok(n) => Some(n),
                    Err(_) => s
                        .parse::<f64>()
                        .ok()
                        .and_then(|f| f.is_finite().then_some(f.floor() as i64)),
                };
                match step {
                    Some(step) => step
                        .checked_mul(*step_secs)
                        .and_then(|d| d.checked_add(*origin_secs))
                        .ok_or_else(|| bad_time(s, "a step within range"))?,
                    // A file of a step-based format exported with real times (a simulator
                    // run post-processed to dates): an ISO 8601 instant is unambiguous.
                    None => parse_iso(s.as_bytes())
                        .map(|p| match p.offset_secs {
                            Some(off) => Ok(p.local_secs - off),
                            None => self.localise(s, p),
                        })
                        .ok_or_else(|| bad_time(s, "a step number or an ISO 8601 time"))??,
                }
            }
            TimeKind::Strftime(fmt) => self.strftime(fmt, s)?,
        };
        if !(MIN_SECS..=MAX_SECS).contains(&secs) {
            return Err(format!(
                "bad timestamp {s:?}: outside 1900–2200 (wrong unit or format?)"
            ));
        }
        Ok(secs)
    }

    fn iso(&self, s: &str) -> Result<i64, String> {
        let p = parse_iso(s.as_bytes())
            .ok_or_else(|| bad_time(s, "ISO 8601 (2024-05-01T12:30:00Z)"))?;
        match p.offset_secs {
            Some(off) => Ok(p.local_secs - off),
            None => self.localise(s, p),
        }
    }

    fn localise(&self, s: &str, p: IsoParts) -> Result<i64, String> {
        match &self.zone {
            Zone::Fixed { offset_secs } => Ok(p.local_secs - offset_secs),
            Zone::Named(tz) => {
                let dt = jiff::civil::DateTime::new(
                    p.year as i16,
                    p.month as i8,
                    p.day as i8,
                    p.hour as i8,
                    p.minute as i8,
                    p.second as i8,
                    0,
                )
                .map_err(|e| format!("bad timestamp {s:?}: {e}"))?;
                let zoned = dt
                    .to_zoned_datetime(tz.clone())
                    .map_err(|e| format!("bad timestamp {s:?}: {e}"))?;
                Ok(zoned.timestamp().as_second())
            }
        }
    }

    fn strftime(&self, fmt: &str, s: &str) -> Result<i64, String> {
        let tm = jiff::fmt::strtime::parse(fmt, s)
            .map_err(|e| format!("bad timestamp {s:?}: does not match format {fmt:?} ({e})"))?;
        if tm.offset().is_some() {
            return tm
                .to_timestamp()
                .map(|t| t.as_second())
                .map_err(|e| format!("bad timestamp {s:?}: {e}"));
        }
        let dt = match tm.to_datetime() {
            Ok(dt) => dt,
            Err(_) => tm
                .to_date()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
                .map_err(|e| format!("bad timestamp {s:?}: {e}"))?,
        };
        match &self.zone {
            Zone::Fixed { offset_secs } => {
                let utc = dt
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .map_err(|e| format!("bad timestamp {s:?}: {e}"))?;
                Ok(utc.timestamp().as_second() - offset_secs)
            }
            Zone::Named(tz) => dt
                .to_zoned_datetime(tz.clone())
                .map(|z| z.timestamp().as_second())
                .map_err(|e| format!("bad timestamp {s:?}: {e}")),
        }
    }
}

fn bad_time(s: &str, expected: &str) -> String {
    let shown: String = s.chars().take(64).collect();
    format!("bad timestamp {shown:?}: expected {expected}")
}

fn looks_numeric(s: &str) -> bool {
    let b = s.as_bytes();
    let body = b.strip_prefix(b"-").unwrap_or(b);
    !body.is_empty() && body.iter().all(|c| c.is_ascii_digit() || *c == b'.')
}

fn epoch_secs(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let f: f64 = s.parse().map_err(|_| bad_time(s, "epoch seconds"))?;
    if !f.is_finite() || f.abs() > 1e15 {
        return Err(bad_time(s, "epoch seconds"));
    }
    Ok(f.floor() as i64)
}

fn epoch_millis(s: &str) -> Result<i64, String> {
    let ms = match s.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            let f: f64 = s.parse().map_err(|_| bad_time(s, "epoch milliseconds"))?;
            if !f.is_finite() || f.abs() > 1e18 {
                return Err(bad_time(s, "epoch milliseconds"));
            }
            f.floor() as i64
        }
    };
    Ok(ms.div_euclid(1000))
}

fn parse_zone(name: &str) -> Result<Zone, String> {
    let n = name.trim();
    if n.is_empty() || n.eq_ignore_ascii_case("utc") || n == "Z" || n.eq_ignore_ascii_case("gmt") {
        return Ok(Zone::Fixed { offset_secs: 0 });
    }
    if let Some(off) = parse_offset(n.as_bytes()) {
        return Ok(Zone::Fixed { offset_secs: off });
    }
    jiff::tz::TimeZone::get(n)
        .map(Zone::Named)
        .map_err(|e| format!("unknown time zone {n:?} ({e}); use UTC, an offset such as +02:00, or an IANA name such as Europe/Paris"))
}

/// `+HH:MM`, `+HHMM`, `+HH` (or `-`) → seconds east of UTC.
fn parse_offset(b: &[u8]) -> Option<i64> {
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &b[1..];
    let (h, m) = match rest.len() {
        2 => (digits(rest)?, 0),
        4 => (digits(&rest[..2])?, digits(&rest[2..])?),
        5 if rest[2] == b':' => (digits(&rest[..2])?, digits(&rest[3..])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

/// The parts of an ISO 8601 date-time, with seconds since the epoch of its wall-clock time.
#[derive(Clone, Copy, Debug)]
struct IsoParts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    local_secs: i64,
    offset_secs: Option<i64>,
}

/// `YYYY-MM-DD`, optionally `[T ]HH:MM[:SS[.fff]]` and `Z` / `±HH[:MM]`.
fn parse_iso(b: &[u8]) -> Option<IsoParts> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    let mut rest = &b[10..];
    if let Some((&sep, tail)) = rest.split_first()
        && (sep == b'T' || sep == b't' || sep == b' ')
        && tail.len() >= 5
        && tail[2] == b':'
    {
        hour = digits(&tail[0..2])?;
        minute = digits(&tail[3..5])?;
        rest = &tail[5..];
        if rest.len() >= 3 && rest[0] == b':' {
            second = digits(&rest[1..3])?;
            rest = &rest[3..];
            if let Some(frac) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
                let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 {
                    return None;
                }
                rest = &frac[n..];
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        // A leap second is folded into the next second's start, as Unix time does.
    }
    let offset_secs = match rest {
        [] => None,
        [b'Z'] | [b'z'] => Some(0),
        _ => Some(parse_offset(rest.strip_prefix(b" ").unwrap_or(rest))?),
    };
    let local_secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(IsoParts {
        year,
        month,
        day,
        hour,
        minute,
        second: second.min(59),
        local_secs,
        offset_secs,
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era-based day count).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses amounts under a mapping's decimal and thousands separators.
#[derive(Clone, Debug)]
pub struct AmountParser {
    decimal: u8,
    thousands: Option<u8>,
}

impl AmountParser {
    /// From a mapping's amount spec (separators are ASCII; validated by the mapping).
    pub fn new(spec: &AmountSpec) -> Self {
        Self {
            decimal: if spec.decimal == ',' { b',' } else { b'.' },
            thousands: spec.thousands.filter(char::is_ascii).map(|c| c as u8),
        }
    }

    /// The amount in a cell, or why it is not one.
    pub fn parse(&self, cell: &str) -> Result<f64, String> {
        let s = cell.trim();
        if s.is_empty() {
            return Err("missing amount".into());
        }
        let value = if self.decimal == b'.' && self.thousands.is_none() {
            s.parse::<f64>().ok()
        } else {
            let mut buf = String::with_capacity(s.len());
            for &c in s.as_bytes() {
                if Some(c) == self.thousands || (c == b' ' && self.thousands.is_some()) {
                    continue;
                }
                buf.push(if c == self.decimal { '.' } else { c as char });
            }
            if s.is_ascii() {
                buf.parse::<f64>().ok()
            } else {
                None
            }
        };
        match value {
            Some(v) if v.is_finite() && s.bytes().any(|c| c.is_ascii_digit()) => Ok(v),
            _ => {
                let shown: String = s.chars().take(64).collect();
                Err(format!("non-numeric amount {shown:?}"))
            }
        }
    }
}

/// A label cell: `Some(true)` for fraud, `Some(false)` for legit, `None` when empty.
pub fn parse_label(cell: &str) -> Result<Option<bool>, String> {
    let s = cell.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "1" | "1.0" | "true" | "t" | "yes" | "y" | "fraud" | "sar" | "positive" => Ok(Some(true)),
        "0" | "0.0" | "-1" | "false" | "f" | "no" | "n" | "legit" | "negative" => Ok(Some(false)),
        _ => {
            let shown: String = s.chars().take(32).collect();
            Err(format!(
                "bad label {shown:?}: expected 1/0, true/false or fraud/legit"
            ))
        }
    }
}

/// A status cell: `approved` or `declined` (and their usual synonyms); empty means approved.
pub fn parse_status(cell: &str) -> Result<&'static str, String> {
    let s = cell.trim();
    if s.is_empty() {
        return Ok("approved");
    }
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "approved" | "approve" | "accepted" | "ok" | "success" | "succeeded" | "authorized"
        | "authorised" | "completed" | "a" => Ok("approved"),
        "declined" | "decline" | "rejected" | "denied" | "failed" | "fail" | "d" => Ok("declined"),
        _ => {
            let shown: String = s.chars().take(32).collect();
            Err(format!(
                "bad status {shown:?}: expected approved or declined"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(format: &str, tz: &str) -> TimeParser {
        TimeParser::new(&TimestampSpec {
            format: format.into(),
            timezone: tz.into(),
            step_secs: Some(3600),
            origin: Some("2020-01-01T00:00:00Z".into()),
        })
        .expect("valid spec")
    }

    #[test]
    fn iso_timestamps_in_their_usual_spellings() {
        let p = parser("iso8601", "UTC");
        assert_eq!(p.parse("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(p.parse("2017-01-01T00:00:30Z"), Ok(1_483_228_830));
        assert_eq!(p.parse("2017-01-01 00:00:30"), Ok(1_483_228_830));
        assert_eq!(p.parse("2017-01-01T02:00:30+02:00"), Ok(1_483_228_830));
        assert_eq!(p.parse("2017-01-01T00:00:30.250Z"), Ok(1_483_228_830));
        assert_eq!(p.parse("2017-01-01"), Ok(1_483_228_800));
        assert!(p.parse("2017-02-30").is_err());
        assert!(p.parse("2017-01-01T25:00:00Z").is_err());
        assert!(p.parse("yesterday").is_err());
        assert!(p.parse("").is_err());
    }

    #[test]
    fn naive_times_take_the_mapping_time_zone() {
        assert_eq!(
            parser("iso8601", "+01:00").parse("2017-01-01T01:00:00"),
            Ok(1_483_228_800)
        );
        let paris = parser("iso8601", "Europe/Paris");
        assert_eq!(paris.parse("2017-07-01T02:00:00"), Ok(1_498_867_200)); // CEST, +02:00
        assert_eq!(paris.parse("2017-01-01T01:00:00"), Ok(1_483_228_800)); // CET, +01:00
    }

    #[test]
    fn epochs_steps_and_format_strings() {
        assert_eq!(
            parser("epoch_secs", "UTC").parse("1483228800"),
            Ok(1_483_228_800)
        );
        assert_eq!(
            parser("epoch_millis", "UTC").parse("1483228800999"),
            Ok(1_483_228_800)
        );
        assert_eq!(
            parser("auto", "UTC").parse("1483228800000"),
            Ok(1_483_228_800)
        );
        assert_eq!(parser("steps", "UTC").parse("2"), Ok(1_577_836_800 + 7200));
        // Real times in a step column are taken as they are.
        assert_eq!(
            parser("steps", "UTC").parse("2020-01-01T03:00:00Z"),
            Ok(1_577_836_800 + 3 * 3600)
        );
        let err = parser("steps", "UTC").parse("soon").unwrap_err();
        assert!(err.contains("a step number or an ISO 8601 time"), "{err}");
        let f = parser("%Y/%m/%d %H:%M", "UTC");
        assert_eq!(f.parse("2022/09/01 00:20"), Ok(1_661_991_600));
        assert!(f.parse("01.09.2022").is_err());
        assert!(parser("epoch_secs", "UTC").parse("99999999999999").is_err());
    }

    #[test]
    fn amounts_with_separators() {
        let dot = AmountParser::new(&AmountSpec::default());
        assert_eq!(dot.parse(" 12.50 "), Ok(12.5));
        assert!(dot.parse("12,50").is_err());
        assert!(dot.parse("NaN").is_err());
        assert!(dot.parse("inf").is_err());
        assert!(dot.parse("").is_err());
        let comma = AmountParser::new(&AmountSpec {
            decimal: ',',
            thousands: Some('.'),
        });
        assert_eq!(comma.parse("1.234.567,89"), Ok(1_234_567.89));
        let swiss = AmountParser::new(&AmountSpec {
            decimal: '.',
            thousands: Some('\''),
        });
        assert_eq!(swiss.parse("1'000.5"), Ok(1000.5));
    }

    #[test]
    fn labels_and_statuses() {
        assert_eq!(parse_label("True"), Ok(Some(true)));
        assert_eq!(parse_label("0"), Ok(Some(false)));
        assert_eq!(parse_label(""), Ok(None));
        assert!(parse_label("maybe").is_err());
        assert_eq!(parse_status("DECLINED"), Ok("declined"));
        assert_eq!(parse_status(""), Ok("approved"));
        assert!(parse_status("pending").is_err());
    }

    #[test]
    fn civil_day_count_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1900, 1, 1), -25_567);
    }
}
