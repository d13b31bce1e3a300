//! GraphQL request throughput: `parse_request_body` on a typical ~1 KiB JSON
//! request (named query with fragments, arguments, directives and variables), a
//! batch of 10 of them, the same document as `application/graphql`, and
//! `parse_response_body` on a ~1 KiB result with errors.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ks_proto_graphql::{parse_request_body, parse_response_body, GraphqlConfig};

const QUERY: &str = r#"query SearchProducts($term: String!, $first: Int = 20, $after: String, $filters: ProductFilter, $withReviews: Boolean!) {
  search(term: $term, first: $first, after: $after, filters: $filters) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        ...ProductCard
        variants(first: 5) { edges { node { id sku price { amount currency } available } } }
        reviews(first: 3) @include(if: $withReviews) {
          averageRating
          nodes { id rating title author { name avatar(size: 64) } createdAt }
        }
      }
    }
  }
  viewer { id cart { itemsCount total { amount currency } } }
}

fragment ProductCard on Product {
  id
  name
  slug
  brand { id name }
  images(first: 2) { url(width: 400, height: 400) alt }
  price { amount currency }
  badges
}"#;

fn request() -> serde_json::Value {
    serde_json::json!({
        "operationName": "SearchProducts",
        "query": QUERY,
        "variables": {
            "term": "running shoes",
            "first": 24,
            "after": "YXJyYXljb25uZWN0aW9uOjIz",
            "filters": {"brands": ["acme", "globex"], "price": {"min": 20, "max": 150}, "inStock": true},
            "withReviews": true
        },
        "extensions": {"clientLibrary": {"name": "apollo-client", "version": "3.9.0"}}
    })
}

fn bench(c: &mut Criterion) {
    let cfg = GraphqlConfig::default();
    let one = serde_json::to_vec(&request()).unwrap();
    let batch = serde_json::to_vec(&vec![request(); 10]).unwrap();
    let errors: Vec<_> = (0..5)
        .map(|i| serde_json::json!({"message": format!("review service timeout {i}"), "path": ["search", "edges", i, "node", "reviews"], "extensions": {"code": "UPSTREAM"}}))
        .collect();
    let response = serde_json::to_vec(&serde_json::json!({
        "data": {"search": {"totalCount": 1234, "pageInfo": {"hasNextPage": true, "endCursor": "abc"},
                 "edges": (0..6).map(|i| serde_json::json!({"cursor": format!("c{i}"), "node": {"id": i, "name": "Shoe", "price": {"amount": 99.5, "currency": "EUR"}}})).collect::<Vec<_>>()}},
        "errors": errors,
    }))
    .unwrap();
    assert_eq!(
        parse_request_body(Some("application/json"), &one, &cfg).unwrap()[0]
            .operation_name
            .as_deref(),
        Some("SearchProducts")
    );
    assert_eq!(parse_request_body(None, &batch, &cfg).unwrap().len(), 10);
    assert_eq!(
        parse_response_body(&response, &cfg).unwrap()[0].errors_count,
        5
    );
    eprintln!(
        "graphql_parse: request {} bytes, batch {} bytes, document {} bytes, response {} bytes",
        one.len(),
        batch.len(),
        QUERY.len(),
        response.len()
    );

    let mut g = c.benchmark_group("graphql_parse");
    for (name, ct, body) in [
        ("json", Some("application/json"), &one[..]),
        ("batch10", Some("application/json"), &batch[..]),
        (
            "application_graphql",
            Some("application/graphql"),
            QUERY.as_bytes(),
        ),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("request", name), body, |b, body| {
            b.iter(|| black_box(parse_request_body(ct, black_box(body), &cfg)))
        });
    }
    g.throughput(Throughput::Bytes(response.len() as u64));
    g.bench_with_input(
        BenchmarkId::new("response", "data+errors"),
        &response[..],
        |b, body| b.iter(|| black_box(parse_response_body(black_box(body), &cfg))),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
