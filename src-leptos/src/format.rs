//! How times and numbers read on the pages.

/// Now, in Unix seconds.
pub fn now_unix() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// A Unix time as local `YYYY-MM-DD HH:MM:SS`.
pub fn datetime(unix_secs: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_secs as f64 * 1000.0));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// A duration as `1h 2m`, `3m 4s` or `5s`.
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// `until` as a time and how far away it is: `14:03:10 (in 2m 5s)`.
pub fn until(unix_secs: i64) -> String {
    let left = u64::try_from(unix_secs.saturating_sub(now_unix())).unwrap_or(0);
    format!("{} (in {})", datetime(unix_secs), duration(left))
}

/// Seconds as a short human latency: `42 µs`, `3.1 ms`, `1.20 s`.
pub fn seconds(s: f64) -> String {
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// A count without a fractional part.
pub fn count(n: f64) -> String {
    format!("{n:.0}")
}

/// Unix milliseconds as local `YYYY-MM-DD HH:MM:SS`.
pub fn datetime_ms(ms: i64) -> String {
    datetime(ms.div_euclid(1000))
}

/// A bucket start (unix ms) as a short local label: `14:00` for hours, `12-04` for days.
pub fn bucket_label(ms: i64, daily: bool) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    if daily {
        format!("{:02}-{:02}", d.get_month() + 1, d.get_date())
    } else {
        format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
    }
}

/// US dollars: cents for large amounts, more digits for small ones.
pub fn usd(v: f64) -> String {
    if v == 0.0 {
        "$0".to_owned()
    } else if v.abs() >= 1.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

/// An integer with thin thousands separators: `1 234 567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A unix-second time as the value of an `<input type="datetime-local">` (local time).
pub fn local_input(unix_secs: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_secs as f64 * 1000.0));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// The value of an `<input type="datetime-local">` as unix seconds; `None` when empty
/// or not a time.
pub fn parse_local_input(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text)).get_time();
    ms.is_finite().then(|| (ms / 1000.0).floor() as i64)
}

/// Unix milliseconds as UTC `YYYY-MM-DDTHH:MM:SSZ` (for files; no browser call).
pub fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_formats() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_764_806_400_000), "2025-12-04T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000 + 3_661_000), "2000-02-29T01:01:01Z");
        assert_eq!(grouped(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(grouped(12), "12");
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(1.5), "$1.50");
        assert_eq!(usd(0.00123), "$0.0012");
        assert_eq!(duration(3725), "1h 2m");
    }
}
