//! The few calendar computations quota needs: RFC 3339 timestamps (Anthropic's reset
//! headers, its report queries), the start of the UTC month, and midnight in
//! `America/Los_Angeles` (when Gemini's daily quotas reset), without a time zone
//! database: US daylight time runs from the second Sunday of March, 2:00, to the first
//! Sunday of November, 2:00.

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2025-08-21T12:40:59Z`, `2025-08-21T12:40:59.123+02:00` → unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let t = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = std::str::from_utf8(t.get(range)?).ok()?;
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if t.len() < 20 || t[4] != b'-' || t[7] != b'-' || !matches!(t[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digit = |b: &u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
            let secs = (digit(h1)? * 10 + digit(h2)?) * 3600 + (digit(m1)? * 10 + digit(m2)?) * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The start of the UTC month containing `now` (unix s), and of the next one.
pub fn utc_month(now: i64) -> (i64, i64) {
    let (y, m, _) = civil_from_days(now.div_euclid(86_400));
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        days_from_civil(y, m, 1) * 86_400,
        days_from_civil(ny, nm, 1) * 86_400,
    )
}

/// The day (days since the epoch) of the `n`th Sunday of a month.
fn nth_sunday(y: i64, m: i64, n: i64) -> i64 {
    let first = days_from_civil(y, m, 1);
    // 1970-01-01 was a Thursday: weekday 0 = Sunday.
    let weekday = (first + 4).rem_euclid(7);
    first + (7 - weekday) % 7 + 7 * (n - 1)
}

/// Whether US Pacific daylight time is in force at `now` (unix s, UTC).
fn pacific_daylight(now: i64) -> bool {
    let (y, _, _) = civil_from_days(now.div_euclid(86_400));
    // 2:00 PST = 10:00 UTC; 2:00 PDT = 9:00 UTC.
    let start = nth_sunday(y, 3, 2) * 86_400 + 10 * 3600;
    let end = nth_sunday(y, 11, 1) * 86_400 + 9 * 3600;
    (start..end).contains(&now)
}

/// The next midnight in `America/Los_Angeles` after `now` (unix s).
pub fn next_pacific_midnight(now: i64) -> i64 {
    let offset = if pacific_daylight(now) {
        -7 * 3600
    } else {
        -8 * 3600
    };
    let local = now + offset;
    let next_local_midnight = (local.div_euclid(86_400) + 1) * 86_400;
    // A switch happens at 2:00 local, after midnight: the offset at `now` still holds.
    next_local_midnight - offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_offsets_apply() {
        assert_eq!(parse_rfc3339("2025-08-21T12:40:59Z"), Some(1_755_780_059));
        assert_eq!(format_rfc3339(1_755_780_059), "2025-08-21T12:40:59Z");
        assert_eq!(
            parse_rfc3339("2025-08-21T14:40:59.250+02:00"),
            Some(1_755_780_059)
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("soon"), None);
        assert_eq!(parse_rfc3339("2025-13-01T00:00:00Z"), None);
    }

    #[test]
    fn months_and_pacific_midnights() {
        // 2025-08-21 → August 1st and September 1st.
        assert_eq!(utc_month(1_755_780_059), (1_754_006_400, 1_756_684_800));
        // 2025-08-21T12:40:59Z is 05:40 PDT; midnight PDT is 07:00 UTC the next day.
        assert_eq!(
            format_rfc3339(next_pacific_midnight(1_755_780_059)),
            "2025-08-22T07:00:00Z"
        );
        // 2025-01-15T12:00:00Z is 04:00 PST; midnight PST is 08:00 UTC.
        let january = parse_rfc3339("2025-01-15T12:00:00Z").unwrap();
        assert_eq!(
            format_rfc3339(next_pacific_midnight(january)),
            "2025-01-16T08:00:00Z"
        );
    }
}
