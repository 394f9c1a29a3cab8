//! The retry policy: what one failed attempt leads to (another attempt
//! after a delay, or the end), and the loop that applies it.
//!
//! The policy is pure: a failure's kind (transient or final, see
//! [`FailureKind::is_transient`]), the attempt number, a server's
//! `Retry-After` and a jitter draw give the delay. Exponential backoff
//! with full jitter: the delay is a random fraction of a step that doubles
//! each attempt, from [`BACKOFF_BASE`] up to [`BACKOFF_CAP`]; a
//! `Retry-After` is a floor, honoured up to [`MAX_RETRY_AFTER`].

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap};

use super::failure::{Failure, FailureKind};

/// First backoff step; each retry doubles it.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_millis(250);
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(20);
/// `Retry-After` is honoured up to this long.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How many attempts a request gets, and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all: `--retries` + 1.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Try again after this long.
    RetryAfter(Duration),
    /// The failure is final, or that was the last attempt.
    GiveUp,
}

/// One attempt's failure, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptFailure {
    pub kind: FailureKind,
    pub http_status: Option<u16>,
    /// The server's `Retry-After`, already capped.
    pub retry_after: Option<Duration>,
}

impl AttemptFailure {
    pub(crate) fn new(kind: FailureKind) -> AttemptFailure {
        AttemptFailure {
            http_status: kind.status(),
            kind,
            retry_after: None,
        }
    }

    /// A failure that came with a response of this status (too large, not
    /// an image).
    pub(crate) fn with_status(kind: FailureKind, status: u16) -> AttemptFailure {
        AttemptFailure {
            kind,
            http_status: Some(status),
            retry_after: None,
        }
    }
}

/// How an attempt ended when it did not succeed: a failure of the request
/// (the policy decides), or an error on our side that stops everything.
#[derive(Debug)]
pub(crate) enum AttemptError<E> {
    Failed(AttemptFailure),
    Local(E),
}

impl<E> From<AttemptFailure> for AttemptError<E> {
    fn from(failure: AttemptFailure) -> Self {
        AttemptError::Failed(failure)
    }
}

impl RetryPolicy {
    /// `retries` retries after the first attempt.
    pub(crate) fn new(retries: u32) -> RetryPolicy {
        RetryPolicy {
            attempts: retries.saturating_add(1),
            base: BACKOFF_BASE,
            cap: BACKOFF_CAP,
        }
    }

    /// What follows attempt `attempt` (1-based) failing; `jitter` is a draw
    /// from [0, 1].
    pub(crate) fn next(&self, attempt: u32, failure: &AttemptFailure, jitter: f64) -> Next {
        if !failure.kind.is_transient() || attempt >= self.attempts {
            return Next::GiveUp;
        }
        Next::RetryAfter(self.delay(attempt, failure.retry_after, jitter))
    }

    /// The step after attempt `attempt` times `jitter`, at least
    /// `retry_after`.
    pub(crate) fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Duration {
        let step = self
            .base
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.cap);
        let jittered = step.mul_f64(jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(wait) => wait.max(jittered),
            None => jittered,
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or runs out of
    /// attempts, sleeping between attempts as the policy says. Returns the
    /// value and the attempts it took, or the last failure; a local error
    /// stops at once.
    pub(crate) async fn run<T, E, Fut>(
        &self,
        mut jitter: impl FnMut() -> f64,
        mut attempt: impl FnMut() -> Fut,
    ) -> Result<Result<(T, u32), Failure>, E>
    where
        Fut: Future<Output = Result<T, AttemptError<E>>>,
    {
        let mut n = 1;
        loop {
            match attempt().await {
                Ok(value) => return Ok(Ok((value, n))),
                Err(AttemptError::Local(err)) => return Err(err),
                Err(AttemptError::Failed(failure)) => match self.next(n, &failure, jitter()) {
                    Next::RetryAfter(wait) => tokio::time::sleep(wait).await,
                    Next::GiveUp => {
                        return Ok(Err(Failure {
                            kind: failure.kind,
                            http_status: failure.http_status,
                            attempts: n,
                            retry_after: failure.retry_after,
                        }));
                    }
                },
            }
            n += 1;
        }
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at
/// [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use reqwest::header::HeaderValue;

    use super::*;

    fn status(code: u16) -> AttemptFailure {
        AttemptFailure::new(FailureKind::from_status(code))
    }

    #[test]
    fn retry_after_seconds_and_dates_are_capped() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("31536000"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&later).expect("a date is a header value"),
        );
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn the_step_doubles_up_to_the_cap_and_jitter_scales_it() {
        let policy = RetryPolicy::new(20);
        let full: Vec<Duration> = (1..=9).map(|n| policy.delay(n, None, 1.0)).collect();
        let ms = |v: u64| Duration::from_millis(v);
        assert_eq!(
            full,
            [
                ms(250),
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                ms(16000),
                ms(20000),
                ms(20000)
            ]
        );
        assert_eq!(policy.delay(3, None, 0.5), ms(500));
        assert_eq!(policy.delay(3, None, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(u32::MAX, None, 1.0), BACKOFF_CAP);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let policy = RetryPolicy::new(3);
        let wait = Some(Duration::from_secs(3));
        assert_eq!(policy.delay(1, wait, 1.0), Duration::from_secs(3));
        assert_eq!(policy.delay(7, wait, 1.0), Duration::from_secs(16));
    }

    #[test]
    fn final_failures_and_the_last_attempt_give_up() {
        let policy = RetryPolicy::new(2);
        assert_eq!(policy.next(1, &status(404), 1.0), Next::GiveUp);
        assert_eq!(
            policy.next(1, &status(503), 1.0),
            Next::RetryAfter(Duration::from_millis(250))
        );
        assert_eq!(
            policy.next(2, &status(503), 1.0),
            Next::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(policy.next(3, &status(503), 1.0), Next::GiveUp);
        assert_eq!(RetryPolicy::new(0).next(1, &status(503), 1.0), Next::GiveUp);
    }

    /// An attempt that fails with `failures` in turn, then succeeds.
    fn scripted(
        failures: Vec<AttemptFailure>,
    ) -> impl FnMut() -> std::future::Ready<Result<&'static str, AttemptError<()>>> {
        let mut left = failures.into_iter();
        move || {
            std::future::ready(match left.next() {
                Some(failure) => Err(AttemptError::Failed(failure)),
                None => Ok("body"),
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_wait_out_their_backoff_then_succeed() {
        let start = tokio::time::Instant::now();
        let got = RetryPolicy::new(3)
            .run(|| 1.0, scripted(vec![status(503), status(500)]))
            .await;
        assert_eq!(got, Ok(Ok(("body", 3))));
        assert_eq!(start.elapsed(), Duration::from_millis(250 + 500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_is_waited_out() {
        let start = tokio::time::Instant::now();
        let mut limited = status(429);
        limited.retry_after = Some(Duration::from_secs(7));
        let got = RetryPolicy::new(3)
            .run(|| 0.0, scripted(vec![limited]))
            .await;
        assert_eq!(got, Ok(Ok(("body", 2))));
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_failure_stops_at_once_without_waiting() {
        let start = tokio::time::Instant::now();
        let got = RetryPolicy::new(3)
            .run(|| 1.0, scripted(vec![status(404)]))
            .await;
        let failure = got.expect("no local error").expect_err("404 is final");
        assert_eq!(failure.kind, FailureKind::NotFound);
        assert_eq!(failure.attempts, 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_run_out_with_the_last_failure() {
        let start = tokio::time::Instant::now();
        let draws = Cell::new(0);
        let got = RetryPolicy::new(2)
            .run(
                || {
                    draws.set(draws.get() + 1);
                    1.0
                },
                scripted(vec![status(502); 5]),
            )
            .await;
        let failure = got.expect("no local error").expect_err("out of attempts");
        assert_eq!((failure.attempts, failure.http_status), (3, Some(502)));
        assert_eq!(start.elapsed(), Duration::from_millis(250 + 500));
        assert_eq!(draws.get(), 3, "one draw per failed attempt");
    }

    #[tokio::test(start_paused = true)]
    async fn a_local_error_stops_the_loop() {
        let got: Result<Result<((), u32), Failure>, &str> = RetryPolicy::new(3)
            .run(
                || 1.0,
                || std::future::ready(Err(AttemptError::Local("disk full"))),
            )
            .await;
        assert_eq!(got, Err("disk full"));
    }
}
