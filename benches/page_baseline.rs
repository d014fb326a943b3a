//! The baseline of `scripts/bench-pages`: bare axum on tokio serving one
//! fixed HTML page of the size of a meeting's page (4.9 KB) from memory, with
//! nothing else — no middleware, no database, no template. What the real
//! service reaches on its public pages is put beside this, measured by the
//! same load generator in the same run.
//!
//! Run: `cargo bench --bench page_baseline -- 127.0.0.1:PORT` (serves until
//! stopped; the script starts and stops it).

use axum::Router;
use axum::http::header;
use axum::routing::get;

/// A page of 4.9 KB, shaped like the forum's pages.
fn page() -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"da\"><head><meta charset=\"utf-8\"><title>Dialogforum</title></head><body><main>",
    );
    while html.len() < 4_900 {
        html.push_str("<p>Dialogforum for leverandører af it til kommunerne: møder, oplæg og erfaringer.</p>");
    }
    html.push_str("</main></body></html>");
    html
}

fn main() {
    let addr = std::env::args().skip(1).find(|a| a.contains(':')).unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let body: &'static str = Box::leak(page().into_boxed_str());
    let app = Router::new()
        .route("/", get(move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body) }));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        println!("serving {} bytes at http://{}/", body.len(), listener.local_addr().expect("address"));
        axum::serve(listener, app).await.expect("serve");
    });
}
