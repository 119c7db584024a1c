//! Logging: `tracing` to stdout, JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON`,
//! level from `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else INFO).

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_default();
    let level = parse_level(&level);
    // The SDK's own INFO lines are noise in a function's logs; keep its warnings.
    let quiet = level.min(LevelFilter::WARN);
    let filter = Targets::new()
        .with_default(level)
        .with_target("aws_smithy_runtime", quiet)
        .with_target("aws_config", quiet)
        .with_target("hyper", quiet)
        .with_target("lambda_runtime", quiet);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests) finds a subscriber already set: keep that one.
    let _ = if json {
        registry
            .with(
                tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(true).flatten_event(true).with_target(false),
            )
            .try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer().without_time().with_target(false).with_ansi(false)).try_init()
    };
}

/// Lambda's level names (and tracing's); anything else is INFO. Lambda's FATAL,
/// which tracing lacks, is ERROR.
fn parse_level(raw: &str) -> LevelFilter {
    match raw.trim().to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "fatal" => LevelFilter::ERROR,
        "off" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_levels_map_to_tracing_levels() {
        assert_eq!(parse_level("DEBUG"), LevelFilter::DEBUG);
        assert_eq!(parse_level("FATAL"), LevelFilter::ERROR);
        assert_eq!(parse_level(" warn "), LevelFilter::WARN);
        assert_eq!(parse_level(""), LevelFilter::INFO);
        assert_eq!(parse_level("verbose"), LevelFilter::INFO);
    }
}
