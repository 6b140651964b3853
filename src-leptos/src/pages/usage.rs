//! Usage: requests, tokens and cost from `/api/usage`, grouped by model, account or key,
//! in hourly or daily buckets; a stacked bar chart of one measure, a table of totals per
//! group, and a CSV of the rows (built here, saved through a Blob URL).

use crate::api::{Api, ApiResult, UsageQuery};
use crate::components::chart::{Chart, ChartData, Kind, Series};
use crate::components::{Empty, Flash, FlashLine, resource_view};
use crate::{download, format};
use leptos::prelude::*;
use std::collections::HashMap;
use switchyard_types::logs::{UsageBucket, UsageRow};

/// What the chart measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Requests,
    Tokens,
    Cost,
}

impl Measure {
    pub fn of(self, row: &UsageRow) -> f64 {
        match self {
            Self::Requests => row.requests as f64,
            Self::Tokens => total_tokens(row) as f64,
            Self::Cost => row.cost_usd,
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "tokens" => Self::Tokens,
            "cost" => Self::Cost,
            _ => Self::Requests,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Requests => "Requests",
            Self::Tokens => "Tokens (input + cache + output)",
            Self::Cost => "Cost (USD)",
        }
    }
}

/// Every token class counted once (`reasoning` is part of `output`).
pub fn total_tokens(row: &UsageRow) -> u64 {
    row.input + row.cache_read + row.cache_write + row.output
}

/// Bucket starts from `from` to `to` (unix ms), aligned to the bucket width (UTC).
pub fn bucket_starts(from: i64, to: i64, width: i64) -> Vec<i64> {
    let width = width.max(1);
    let first = from.div_euclid(width) * width;
    let mut out = Vec::new();
    let mut at = first;
    while at <= to && out.len() < 2000 {
        out.push(at);
        at += width;
    }
    out
}

/// The series of a stacked chart: the `top` groups by total, the rest as `other`.
/// `name` turns a group into its display name.
pub fn stacked(
    rows: &[UsageRow],
    buckets: &[i64],
    measure: Measure,
    top: usize,
    name: &dyn Fn(&str) -> String,
) -> Vec<Series> {
    let mut totals: HashMap<&str, f64> = HashMap::new();
    for row in rows {
        *totals.entry(row.group.as_str()).or_default() += measure.of(row);
    }
    let mut order: Vec<(&str, f64)> = totals.into_iter().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let kept: Vec<&str> = order.iter().take(top).map(|(g, _)| *g).collect();
    let index: HashMap<i64, usize> = buckets.iter().enumerate().map(|(i, b)| (*b, i)).collect();
    let mut series: Vec<Series> = kept
        .iter()
        .map(|g| Series {
            name: name(g),
            values: vec![0.0; buckets.len()],
        })
        .collect();
    let mut other = vec![0.0; buckets.len()];
    for row in rows {
        let Some(&i) = index.get(&row.bucket) else {
            continue;
        };
        match kept.iter().position(|g| *g == row.group) {
            Some(s) => series[s].values[i] += measure.of(row),
            None => other[i] += measure.of(row),
        }
    }
    if other.iter().any(|v| *v > 0.0) {
        series.push(Series {
            name: "other".to_owned(),
            values: other,
        });
    }
    series
}

/// Totals of one group over the whole range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupTotal {
    pub group: String,
    pub requests: u64,
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
    pub cost_usd: f64,
}

/// Per-group totals, most requests first.
pub fn totals(rows: &[UsageRow]) -> Vec<GroupTotal> {
    let mut by: HashMap<&str, GroupTotal> = HashMap::new();
    for r in rows {
        let t = by.entry(r.group.as_str()).or_insert_with(|| GroupTotal {
            group: r.group.clone(),
            ..GroupTotal::default()
        });
        t.requests += r.requests;
        t.input += r.input;
        t.cache_read += r.cache_read;
        t.cache_write += r.cache_write;
        t.output += r.output;
        t.reasoning += r.reasoning;
        t.cost_usd += r.cost_usd;
    }
    let mut list: Vec<GroupTotal> = by.into_values().collect();
    list.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.group.cmp(&b.group))
    });
    list
}

/// One CSV field. Groups come from clients (model names): one that a spreadsheet would
/// read as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'` (OWASP's advice).
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The rows as CSV (RFC 4180, header first; bucket in UTC ISO 8601 and unix ms).
pub fn csv(rows: &[UsageRow], group_by: &str) -> String {
    let mut out = format!(
        "bucket_utc,bucket_ms,{group_by},requests,input,cache_read,cache_write,output,reasoning,cost_usd\r\n"
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\r\n",
            format::iso_utc(r.bucket),
            r.bucket,
            csv_field(&r.group),
            r.requests,
            r.input,
            r.cache_read,
            r.cache_write,
            r.output,
            r.reasoning,
            r.cost_usd
        ));
    }
    out
}

/// One answer of the page: the rows and the range they cover.
#[derive(Debug, Clone, PartialEq)]
struct Report {
    rows: Vec<UsageRow>,
    from: i64,
    to: i64,
    daily: bool,
    group_by: &'static str,
    /// Display names of account and key ids.
    names: HashMap<String, String>,
}

async fn load(api: Api, group_by: &'static str, daily: bool, span_ms: i64) -> ApiResult<Report> {
    let to = js_sys::Date::now() as i64;
    let from = to - span_ms;
    let query = UsageQuery {
        group_by,
        bucket: if daily { "day" } else { "hour" },
        from: Some(from),
        to: Some(to),
    };
    let mut names = HashMap::new();
    // Names are a nicety: without them the ids are shown.
    match group_by {
        "account" => {
            if let Ok(list) = api.accounts().await {
                names.extend(list.into_iter().map(|a| (a.id, a.label)));
            }
        }
        "key" => {
            if let Ok(list) = api.keys().await {
                names.extend(list.into_iter().map(|k| (k.id, k.name)));
            }
        }
        _ => {}
    }
    let report = api.usage(&query).await?;
    Ok(Report {
        rows: report.rows,
        from,
        to,
        daily,
        group_by,
        names,
    })
}

fn display(names: &HashMap<String, String>, group: &str) -> String {
    if group.is_empty() {
        return "(none)".to_owned();
    }
    match names.get(group) {
        Some(name) => format!("{name} ({group})"),
        None => group.to_owned(),
    }
}

fn span_of(text: &str) -> i64 {
    const HOUR: i64 = 3_600_000;
    match text {
        "7d" => 7 * 24 * HOUR,
        "30d" => 30 * 24 * HOUR,
        "90d" => 90 * 24 * HOUR,
        _ => 24 * HOUR,
    }
}

/// A chart of one measure from report rows, every bucket of the range present.
fn chart_data(report: &Report, measure: Measure) -> ChartData {
    let width = if report.daily {
        UsageBucket::Day.millis()
    } else {
        UsageBucket::Hour.millis()
    };
    let buckets = bucket_starts(report.from, report.to, width);
    let names = report.names.clone();
    let series = stacked(&report.rows, &buckets, measure, 6, &move |g| {
        display(&names, g)
    });
    ChartData {
        labels: buckets
            .iter()
            .map(|b| format::bucket_label(*b, report.daily))
            .collect(),
        series,
    }
}

fn measure_format(measure: Measure) -> fn(f64) -> String {
    match measure {
        Measure::Cost => format::usd,
        Measure::Requests | Measure::Tokens => format::count,
    }
}

#[component]
pub fn Usage() -> impl IntoView {
    let api = crate::session::use_api();
    let group_by = RwSignal::new("model");
    let bucket = RwSignal::new("hour");
    let span = RwSignal::new("24h".to_owned());
    let measure = RwSignal::new(Measure::Requests);
    let flash = RwSignal::new(None::<Flash>);
    let report = LocalResource::new(move || {
        let api = api.clone();
        let (g, daily, s) = (group_by.get(), bucket.get() == "day", span_of(&span.get()));
        async move { load(api, g, daily, s).await }
    });

    let export = move |_| {
        let Some(Ok(r)) = report.get_untracked() else {
            return;
        };
        let name = format!(
            "switchyard-usage-by-{}-{}.csv",
            r.group_by,
            if r.daily { "day" } else { "hour" }
        );
        match download::save(&name, "text/csv", &csv(&r.rows, r.group_by)) {
            Ok(()) => flash.set(Some(Flash::Done(format!(
                "Saved {name} ({} rows).",
                r.rows.len()
            )))),
            Err(e) => flash.set(Some(Flash::Failed(format!("Could not save the CSV: {e}")))),
        }
    };

    view! {
        <h1>"Usage"</h1>
        <p class="lead">"Requests, tokens and cost recorded by the gateway, per time bucket (UTC buckets, local labels)."</p>
        <div class="toolbar filters">
            <div class="field">
                <label for="usage-group">"Group by"</label>
                <select id="usage-group" on:change=move |ev| group_by.set(match event_target_value(&ev).as_str() {
                    "account" => "account",
                    "key" => "key",
                    _ => "model",
                })>
                    <option value="model">"Model"</option>
                    <option value="account">"Account"</option>
                    <option value="key">"Client key"</option>
                </select>
            </div>
            <div class="field">
                <label for="usage-bucket">"Buckets"</label>
                <select id="usage-bucket" on:change=move |ev| {
                    let daily = event_target_value(&ev) == "day";
                    bucket.set(if daily { "day" } else { "hour" });
                    span.set(if daily { "30d".to_owned() } else { "24h".to_owned() });
                }>
                    <option value="hour">"Hourly"</option>
                    <option value="day">"Daily"</option>
                </select>
            </div>
            <div class="field">
                <label for="usage-span">"Range"</label>
                <select id="usage-span" on:change=move |ev| span.set(event_target_value(&ev))>
                    <option value="24h" prop:selected=move || span.get() == "24h">"Last 24 hours"</option>
                    <option value="7d" prop:selected=move || span.get() == "7d">"Last 7 days"</option>
                    <option value="30d" prop:selected=move || span.get() == "30d">"Last 30 days"</option>
                    <option value="90d" prop:selected=move || span.get() == "90d">"Last 90 days"</option>
                </select>
            </div>
            <div class="field">
                <label for="usage-measure">"Chart"</label>
                <select id="usage-measure" on:change=move |ev| measure.set(Measure::parse(&event_target_value(&ev)))>
                    <option value="requests">"Requests"</option>
                    <option value="tokens">"Tokens"</option>
                    <option value="cost">"Cost"</option>
                </select>
            </div>
            <div class="buttons">
                <button type="button" class="quiet" on:click=move |_| report.refetch()>"Refresh"</button>
                <button type="button" on:click=export
                    disabled=move || !matches!(report.get(), Some(Ok(ref r)) if !r.rows.is_empty())>"Export CSV"</button>
            </div>
        </div>
        <FlashLine flash/>
        {resource_view(report, move |r: Report| {
            if r.rows.is_empty() {
                return view! {
                    <Empty><p>"No usage in this range yet: proxied requests appear here within seconds of finishing."</p></Empty>
                }.into_any();
            }
            let list = totals(&r.rows);
            let names = r.names.clone();
            let grand = list.iter().fold(GroupTotal::default(), |mut a, t| {
                a.requests += t.requests;
                a.input += t.input + t.cache_read + t.cache_write;
                a.output += t.output;
                a.cost_usd += t.cost_usd;
                a
            });
            let report = StoredValue::new(r);
            view! {
                <div class="cards">
                    <section class="card"><h2>"Requests"</h2><p class="big">{format::grouped(grand.requests)}</p></section>
                    <section class="card"><h2>"Input tokens (incl. cache)"</h2><p class="big">{format::grouped(grand.input)}</p></section>
                    <section class="card"><h2>"Output tokens"</h2><p class="big">{format::grouped(grand.output)}</p></section>
                    <section class="card"><h2>"Cost"</h2><p class="big">{format::usd(grand.cost_usd)}</p></section>
                </div>
                {move || {
                    let m = measure.get();
                    let data = report.with_value(|r| chart_data(r, m));
                    view! { <Chart title=m.title() kind=Kind::Bars data value=measure_format(m) wide=true/> }
                }}
                <div class="table-wrap">
                    <table class="usage stack">
                        <caption class="sr-only">"Usage per group over the range"</caption>
                        <thead>
                            <tr>
                                <th scope="col">{report.with_value(|r| match r.group_by { "account" => "Account", "key" => "Client key", _ => "Model" })}</th>
                                <th scope="col" class="num">"Requests"</th>
                                <th scope="col" class="num">"Input"</th>
                                <th scope="col" class="num">"Cache read"</th>
                                <th scope="col" class="num">"Cache write"</th>
                                <th scope="col" class="num">"Output"</th>
                                <th scope="col" class="num">"Reasoning"</th>
                                <th scope="col" class="num">"Cost"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|t| view! {
                                <tr>
                                    <td data-label="Group">{display(&names, &t.group)}</td>
                                    <td data-label="Requests" class="num">{format::grouped(t.requests)}</td>
                                    <td data-label="Input" class="num">{format::grouped(t.input)}</td>
                                    <td data-label="Cache read" class="num">{format::grouped(t.cache_read)}</td>
                                    <td data-label="Cache write" class="num">{format::grouped(t.cache_write)}</td>
                                    <td data-label="Output" class="num">{format::grouped(t.output)}</td>
                                    <td data-label="Reasoning" class="num">{format::grouped(t.reasoning)}</td>
                                    <td data-label="Cost" class="num">{format::usd(t.cost_usd)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bucket: i64, group: &str, requests: u64, cost: f64) -> UsageRow {
        UsageRow {
            bucket,
            group: group.to_owned(),
            requests,
            input: 10 * requests,
            cache_read: 1,
            cache_write: 0,
            output: 5,
            reasoning: 2,
            cost_usd: cost,
        }
    }

    #[test]
    fn buckets_cover_the_range_aligned() {
        let h = 3_600_000;
        assert_eq!(bucket_starts(h + 5, 3 * h + 1, h), vec![h, 2 * h, 3 * h]);
        assert_eq!(bucket_starts(2 * h, h, h).len(), 0);
    }

    #[test]
    fn stacked_keeps_the_top_groups_and_folds_the_rest() {
        let h = 3_600_000;
        let rows = vec![
            row(0, "a", 5, 0.0),
            row(h, "a", 1, 0.0),
            row(h, "b", 3, 0.0),
            row(h, "c", 1, 0.0),
            row(99 * h, "a", 7, 0.0), // outside the buckets: ignored
        ];
        let series = stacked(&rows, &[0, h], Measure::Requests, 2, &|g| g.to_uppercase());
        let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "other"]);
        assert_eq!(series[0].values, vec![5.0, 1.0]);
        assert_eq!(series[2].values, vec![0.0, 1.0]);
        let tokens = stacked(&rows[..1], &[0], Measure::Tokens, 5, &|g| g.to_owned());
        assert_eq!(tokens[0].values, vec![56.0]);
    }

    #[test]
    fn totals_and_csv() {
        let rows = vec![
            row(0, "m,1", 1, 0.5),
            row(3_600_000, "m,1", 2, 0.25),
            row(0, "x", 9, 0.0),
        ];
        let t = totals(&rows);
        assert_eq!(t[0].group, "x");
        assert_eq!(t[1].requests, 3);
        assert!((t[1].cost_usd - 0.75).abs() < 1e-9);
        let text = csv(&rows, "model");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "bucket_utc,bucket_ms,model,requests,input,cache_read,cache_write,output,reasoning,cost_usd"
        );
        assert_eq!(lines[1], "1970-01-01T00:00:00Z,0,\"m,1\",1,10,1,0,5,2,0.5");
        assert_eq!(lines.len(), 5);
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("gpt-4o"), "gpt-4o");
    }
}
