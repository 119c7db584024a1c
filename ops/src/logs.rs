//! Logs on stderr that keep clear of a progress bar: while one is shown, each
//! log line is written with the bar out of the way, then the bar is redrawn.

use std::io::{self, Write};
use std::sync::Mutex;

use indicatif::ProgressBar;

/// The bar being shown, if any.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Sets up `tracing` on stderr: warnings always, `-v` info, `-vv` debug.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    // Stdout is the command's answer; logs go to stderr.
    let _ = tracing_subscriber::fmt().with_writer(|| Stderr).with_max_level(level).with_target(false).try_init();
}

/// Shows log lines around `bar` from now on (`None`: no bar any more).
pub fn around(bar: Option<ProgressBar>) {
    if let Ok(mut shown) = BAR.lock() {
        *shown = bar;
    }
}

/// Stderr, stepping around the bar being shown.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A poisoned lock only means a log line panicked elsewhere: write plainly then.
        match BAR.lock().ok().and_then(|shown| shown.clone()) {
            Some(bar) => bar.suspend(|| io::stderr().write(buf)),
            None => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
