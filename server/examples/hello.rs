//! An axum "hello, world" page on the same runtime and HTTP stack as the web server:
//! the ceiling `scripts/bench.sh` measures the guest page's rendering against.
//!
//! ```sh
//! cargo run --release -p server --example hello -- 127.0.0.1:3999
//! ```

use axum::{response::Html, routing::get, Router};

#[tokio::main]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3999".to_owned());
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("hello: cannot listen on {address}: {error}");
            std::process::exit(1);
        }
    };
    let page = Router::new().route(
        "/",
        get(|| async { Html("<!doctype html><title>Hello</title><p>Hello, world</p>") }),
    );
    if let Err(error) = axum::serve(listener, page).await {
        eprintln!("hello: {error}");
        std::process::exit(1);
    }
}
