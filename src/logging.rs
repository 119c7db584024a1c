//! Logging: `tracing` to stdout, JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON`,
//! level from `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let level =
        std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".to_string()).to_lowercase();
    // Lambda's levels include FATAL, which tracing does not have.
    let level = if level == "fatal" { "error".to_string() } else { level };
    // The SDK's own INFO lines are noise in a function's logs; keep its warnings.
    let filter = EnvFilter::try_new(format!("{level},aws_smithy_runtime=warn,aws_config=warn,hyper=warn"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(false);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second init (tests) finds a subscriber already set: keep that one.
    let _ = if json {
        builder.json().with_current_span(true).with_span_list(true).flatten_event(true).try_init()
    } else {
        builder.without_time().try_init()
    };
}
