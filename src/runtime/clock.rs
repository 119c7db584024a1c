//! The one clock everything reads time from: lease expiries, sweep windows,
//! deadlines (waited for with [`Clock::sleep_until`]) and metric timestamps.
//! Production reads the system time; tests move it (`advance`) instead of
//! sleeping, or freeze it at a chosen instant, and a deadline moves with it.
//!
//! Nothing a token protects is ever read from the clock: request bodies are
//! pure functions of the investigation (docs/design.md §5).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

/// A clock: the system time plus an offset that tests can move, or a frozen
/// instant. Clones share one offset, so moving one moves all of them.
#[derive(Debug, Clone)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    frozen: bool,
    /// Wakes whoever waits for a deadline when the clock is moved.
    moved: Arc<Notify>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The system time.
    pub fn system() -> Clock {
        Clock { offset_ms: Arc::new(AtomicI64::new(0)), frozen: false, moved: Arc::new(Notify::new()) }
    }

    /// A clock that stands still at `epoch_ms` until moved.
    pub fn frozen_at(epoch_ms: i64) -> Clock {
        Clock { offset_ms: Arc::new(AtomicI64::new(epoch_ms)), frozen: true, moved: Arc::new(Notify::new()) }
    }

    /// Moves the clock forward by `by` (tests and local runs: production never calls it).
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        // Saturating: a test that moves time far must not wrap it into the past.
        let _ = self.offset_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| Some(o.saturating_add(by)));
        self.moved.notify_waiters();
    }

    /// Waits until `deadline_ms` on this clock: the system time passing it, or
    /// the clock being moved past it, whichever comes first.
    pub async fn sleep_until(&self, deadline_ms: i64) {
        loop {
            // Registered before the time is read, so a move in between is not missed.
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let left = self.until(deadline_ms);
            if left.is_zero() {
                return;
            }
            if self.frozen {
                moved.await;
            } else {
                tokio::select! {
                    () = tokio::time::sleep(left) => {}
                    () = moved => {}
                }
            }
        }
    }

    /// Runs `work` unless `deadline_ms` on this clock comes first (`None` then).
    pub async fn within<T>(&self, deadline_ms: i64, work: impl std::future::Future<Output = T>) -> Option<T> {
        // The deadline first: work that would finish only after it does not count.
        tokio::select! {
            biased;
            () = self.sleep_until(deadline_ms) => None,
            out = work => Some(out),
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let offset = self.offset_ms.load(Ordering::SeqCst);
        if self.frozen {
            return offset;
        }
        let system = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        system.saturating_add(offset)
    }

    /// Now, in whole seconds since the Unix epoch (rounded down).
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Time left until `deadline_ms` (zero once it has passed).
    pub fn until(&self, deadline_ms: i64) -> Duration {
        let left = deadline_ms.saturating_sub(self.now_ms());
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_told() {
        let clock = Clock::frozen_at(1_700_000_000_500);
        assert_eq!(clock.now_ms(), 1_700_000_000_500);
        assert_eq!(clock.now_secs(), 1_700_000_000);
        let shared = clock.clone();
        shared.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now_ms(), 1_700_000_002_000, "clones share the offset");
        assert_eq!(clock.until(1_700_000_003_000), Duration::from_secs(1));
        assert_eq!(clock.until(1_000), Duration::ZERO, "a passed deadline leaves nothing");
    }

    #[test]
    fn the_system_clock_can_be_moved_forward() {
        let clock = Clock::system();
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(3_600));
        assert!(clock.now_ms() >= before + 3_600_000);
        assert!(before > 1_600_000_000_000, "the system clock reads real epoch time");
    }

    #[tokio::test]
    async fn a_deadline_comes_when_the_clock_is_moved_past_it() {
        let clock = Clock::frozen_at(1_000);
        let waiting = tokio::spawn({
            let clock = clock.clone();
            async move { clock.within(5_000, std::future::pending::<()>()).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a frozen clock never reaches the deadline on its own");
        clock.advance(Duration::from_secs(4));
        assert_eq!(waiting.await.ok(), Some(None), "moved past it, the deadline came");
        assert_eq!(clock.within(1, async { 7 }).await, None, "a passed deadline comes at once");
        assert_eq!(clock.within(i64::MAX, async { 7 }).await, Some(7));
    }

    #[test]
    fn moving_time_saturates_instead_of_wrapping() {
        let clock = Clock::frozen_at(i64::MAX - 10);
        clock.advance(Duration::from_secs(u64::MAX));
        assert_eq!(clock.now_ms(), i64::MAX);
    }
}
