//! A small chart drawn by the app itself as SVG (no script library, nothing fetched):
//! stacked bars or lines over equally spaced x positions (time buckets), a y axis with
//! round ticks, a few x labels, and a `<title>` tooltip on every bar or point. The SVG
//! has a `viewBox` sized for the window it is drawn in (so its text keeps about its
//! nominal size) and scales to its container's width.
//!
//! The markup is built as a string by [`svg`] (pure, tested on the host) and placed with
//! `inner_html`, so the browser's HTML parser creates real SVG elements.

use leptos::prelude::*;

/// How the series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One bar per x position, series stacked.
    Bars,
    /// One line per series.
    Lines,
}

/// One named row of values, one per x position.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// What a chart shows: the x labels (one per position) and the series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartData {
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

impl ChartData {
    /// Whether any value is above zero.
    pub fn has_data(&self) -> bool {
        self.series.iter().flat_map(|s| &s.values).any(|v| *v > 0.0)
    }
}

/// Series colours, in order (readable on white, distinct for common colour blindness).
pub const PALETTE: [&str; 8] = [
    "#1d5fbf", "#e07b00", "#1f7a3d", "#b3261e", "#6f42c1", "#00838f", "#8a5a00", "#5c6570",
];

const LEFT: f64 = 58.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;
/// Room for one x label, in SVG units.
const X_LABEL_ROOM: f64 = 80.0;

/// Round y ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten,
/// four or five of them.
pub fn nice_ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let rough = max / 4.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    let count = (max / step).ceil() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// A tick value short enough for the axis: `1.2k`, `3M`, `0.05`.
pub fn short(value: f64) -> String {
    let abs = value.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    if abs >= 1e9 {
        format!("{}G", trim(format!("{:.1}", value / 1e9)))
    } else if abs >= 1e6 {
        format!("{}M", trim(format!("{:.1}", value / 1e6)))
    } else if abs >= 1e3 {
        format!("{}k", trim(format!("{:.1}", value / 1e3)))
    } else if abs >= 1.0 || abs == 0.0 {
        trim(format!("{value:.1}"))
    } else {
        trim(format!("{value:.4}"))
    }
}

/// Escapes text for XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The SVG markup of a chart `size` (width, height) units big. `value` formats numbers
/// in tooltips.
#[expect(non_snake_case, reason = "W and H read as the chart's dimensions")]
pub fn svg(
    kind: Kind,
    data: &ChartData,
    label: &str,
    value: fn(f64) -> String,
    size: (f64, f64),
) -> String {
    use std::fmt::Write as _;
    let (W, H) = size;
    let n = data.labels.len().max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let top_value = match kind {
        Kind::Bars => (0..n)
            .map(|i| {
                data.series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0.0).max(0.0))
                    .sum::<f64>()
            })
            .fold(0.0, f64::max),
        Kind::Lines => data
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    };
    let ticks = nice_ticks(top_value);
    let y_max = ticks.last().copied().unwrap_or(1.0).max(f64::MIN_POSITIVE);
    let y = |v: f64| TOP + plot_h - (v / y_max) * plot_h;
    let slot = plot_w / n as f64;
    let x_mid = |i: usize| LEFT + slot * (i as f64 + 0.5);

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{}" preserveAspectRatio="xMidYMid meet">"#,
        escape(label)
    );
    // Y grid and ticks.
    out.push_str(r#"<g class="axis y">"#);
    for t in &ticks {
        let ty = y(*t);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{ty:.1}" y2="{ty:.1}" stroke="#d8dde3"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11" fill="#5c6570">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            ty + 4.0,
            escape(&short(*t))
        );
    }
    out.push_str("</g>");
    // X labels.
    let max_labels = ((W - LEFT - RIGHT) / X_LABEL_ROOM).floor().max(2.0) as usize;
    let every = n.div_ceil(max_labels).max(1);
    out.push_str(r#"<g class="axis x">"#);
    for (i, text) in data.labels.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11" fill="#5c6570">{}</text>"##,
            x_mid(i),
            H - 8.0,
            escape(text)
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#5c6570"/></g>"##,
        W - RIGHT,
        y(0.0),
        y(0.0)
    );
    // Data.
    match kind {
        Kind::Bars => {
            let bar_w = (slot * 0.8).max(1.0);
            out.push_str(r#"<g class="bars">"#);
            for i in 0..data.labels.len() {
                let mut base = 0.0;
                for (si, s) in data.series.iter().enumerate() {
                    let v = s.values.get(i).copied().unwrap_or(0.0).max(0.0);
                    if v <= 0.0 {
                        continue;
                    }
                    let (y0, y1) = (y(base), y(base + v));
                    base += v;
                    let _ = write!(
                        out,
                        r#"<rect x="{:.1}" y="{y1:.1}" width="{bar_w:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                        x_mid(i) - bar_w / 2.0,
                        (y0 - y1).max(0.5),
                        PALETTE[si % PALETTE.len()],
                        escape(&format!("{} · {}: {}", data.labels[i], s.name, value(v)))
                    );
                }
            }
            out.push_str("</g>");
        }
        Kind::Lines => {
            out.push_str(r#"<g class="lines">"#);
            for (si, s) in data.series.iter().enumerate() {
                let colour = PALETTE[si % PALETTE.len()];
                let points: Vec<String> = (0..data.labels.len())
                    .map(|i| {
                        let v = s.values.get(i).copied().unwrap_or(0.0).max(0.0);
                        format!("{:.1},{:.1}", x_mid(i), y(v))
                    })
                    .collect();
                let _ = write!(
                    out,
                    r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                    points.join(" ")
                );
                for i in 0..data.labels.len() {
                    let v = s.values.get(i).copied().unwrap_or(0.0).max(0.0);
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                        x_mid(i),
                        y(v),
                        escape(&format!("{} · {}: {}", data.labels[i], s.name, value(v)))
                    );
                }
            }
            out.push_str("</g>");
        }
    }
    out.push_str("</svg>");
    out
}

/// A chart with its caption and a legend (when there is more than one series).
#[component]
pub fn Chart(
    #[prop(into)] title: String,
    kind: Kind,
    data: ChartData,
    /// Formats values in tooltips.
    #[prop(optional)]
    value: Option<fn(f64) -> String>,
    /// Spans the page's width (else it shares a row with others).
    #[prop(optional)]
    wide: bool,
) -> impl IntoView {
    let window = web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|v| v.as_f64())
        .unwrap_or(1024.0);
    let room = window - 60.0;
    let size = if wide {
        (room.clamp(300.0, 1100.0), 260.0)
    } else {
        (room.clamp(300.0, 440.0), 200.0)
    };
    let markup = svg(kind, &data, &title, value.unwrap_or(short), size);
    let legend = (data.series.len() > 1).then(|| {
        view! {
            <ul class="legend">
                {data.series.iter().enumerate().map(|(i, s)| view! {
                    <li><span class="swatch" style=format!("background:{}", PALETTE[i % PALETTE.len()])></span>{s.name.clone()}</li>
                }).collect_view()}
            </ul>
        }
    });
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <div class="plot" inner_html=markup></div>
            {legend}
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(nice_ticks(0.0), vec![0.0, 0.5, 1.0]);
        assert_eq!(nice_ticks(7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(100.0), vec![0.0, 50.0, 100.0]);
        assert_eq!(nice_ticks(1234.0).last().copied(), Some(1500.0));
        let small = nice_ticks(0.03);
        assert!(small.last().copied().unwrap_or(0.0) >= 0.03);
        assert!(small.len() <= 6);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(1500.0), "1.5k");
        assert_eq!(short(2_000_000.0), "2M");
        assert_eq!(short(12.0), "12");
        assert_eq!(short(0.05), "0.05");
    }

    #[test]
    fn bars_have_a_tooltip_each_and_text_is_escaped() {
        let data = ChartData {
            labels: vec!["10:00".into(), "11:00".into()],
            series: vec![
                Series {
                    name: "a<b".into(),
                    values: vec![1.0, 0.0],
                },
                Series {
                    name: "c".into(),
                    values: vec![2.0, 3.0],
                },
            ],
        };
        assert!(data.has_data());
        let s = svg(Kind::Bars, &data, "Requests & more", short, (640.0, 220.0));
        assert_eq!(s.matches("<rect").count(), 3);
        assert!(s.contains("<title>10:00 · a&lt;b: 1</title>"));
        assert!(s.contains(r#"aria-label="Requests &amp; more""#));
        let lines = svg(Kind::Lines, &data, "x", short, (300.0, 200.0));
        assert_eq!(lines.matches("<polyline").count(), 2);
        assert_eq!(lines.matches("<circle").count(), 4);
    }
}
