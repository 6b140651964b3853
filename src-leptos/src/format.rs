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
