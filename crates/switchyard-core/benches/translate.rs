//! Translation cost per direction: request decode, request translation (client protocol
//! → IR → upstream protocol), response translation, and stream re-encoding per event.

#![expect(
    clippy::expect_used,
    reason = "benchmark harness: a broken fixture should abort loudly"
)]

mod common;

use bytes::BytesMut;
use common::{PROTOCOLS, events, request, response};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use switchyard_core::translate::dispatch;

fn requests(c: &mut Criterion) {
    let ir = request(false);
    let mut group = c.benchmark_group("request");
    for from in PROTOCOLS {
        let body = dispatch::encode_request(from, &ir).expect("encode");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("decode/{from}"), |b| {
            b.iter(|| {
                dispatch::decode_request(from, black_box(&body), "bench-model", false)
                    .expect("decode")
            });
        });
        for to in PROTOCOLS.into_iter().filter(|t| *t != from) {
            group.bench_function(format!("translate/{from}->{to}"), |b| {
                b.iter(|| {
                    let ir = dispatch::decode_request(from, black_box(&body), "bench-model", false)
                        .expect("decode");
                    dispatch::encode_request(to, &ir).expect("encode")
                });
            });
        }
    }
    group.finish();
}

fn responses(c: &mut Criterion) {
    let ir = response();
    let mut group = c.benchmark_group("response");
    for upstream in PROTOCOLS {
        let body = dispatch::encode_response(upstream, &ir);
        for client in PROTOCOLS.into_iter().filter(|c| *c != upstream) {
            group.bench_function(format!("translate/{upstream}->{client}"), |b| {
                b.iter(|| {
                    let ir = dispatch::decode_response(upstream, black_box(&body)).expect("decode");
                    dispatch::encode_response(client, &ir)
                });
            });
        }
    }
    group.finish();
}

fn streams(c: &mut Criterion) {
    let ir = request(true);
    let events = events();
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(events.len() as u64));
    for upstream in PROTOCOLS {
        // The upstream's SSE bytes, as its own encoder writes them.
        let mut wire = BytesMut::new();
        let mut encoder = dispatch::stream_encoder(upstream, &ir, 0, true);
        for e in &events {
            encoder.encode(e, &mut wire);
        }
        encoder.finish(&mut wire);
        // Fed line by line, as a network would deliver small chunks.
        let chunks: Vec<Vec<u8>> = wire[..]
            .split(|b| *b == b'\n')
            .map(|l| [l, &b"\n"[..]].concat())
            .collect();
        for client in PROTOCOLS.into_iter().filter(|c| *c != upstream) {
            group.bench_function(format!("reencode/{upstream}->{client}"), |b| {
                let mut decoded = Vec::with_capacity(8);
                let mut out = BytesMut::with_capacity(4096);
                b.iter(|| {
                    let mut decoder = dispatch::stream_decoder(upstream, &ir);
                    let mut encoder = dispatch::stream_encoder(client, &ir, 0, true);
                    for chunk in &chunks {
                        decoder.feed(black_box(chunk), &mut decoded).expect("feed");
                        for e in decoded.drain(..) {
                            encoder.encode(&e, &mut out);
                        }
                        out.clear();
                    }
                    decoder.finish(&mut decoded).expect("finish");
                    for e in decoded.drain(..) {
                        encoder.encode(&e, &mut out);
                    }
                    encoder.finish(&mut out);
                    out.clear();
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, requests, responses, streams);
criterion_main!(benches);
