//! What keeps one client, one key or one burst from holding the server (DESIGN §7): a
//! deadline on every request, bounds on the requests and the searches running at once, and a
//! token bucket per API key. Past any of them a request is answered at once, 503 `OVERLOADED`
//! or `TIMEOUT` or 429 `RATE_LIMITED`, each with `Retry-After`, instead of waiting in a queue
//! without end. Health, readiness and metrics are never shed, so an operator can see why.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use callscope_query::limit_note;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Routes an operator needs while the server is at its limits.
const NEVER_SHED: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The bounds, as configured.
#[derive(Clone, Debug)]
pub struct GuardSettings {
    /// Longest a request may take to be answered (its handler, not the streaming of a
    /// recording's bytes). Uploads are bounded by their idle timeout instead.
    pub request_timeout: Duration,
    /// Most requests handled at once.
    pub max_concurrent_requests: usize,
    /// Most searches (queries, full-text lists, `/insights/sessions`) running at once.
    pub max_concurrent_searches: usize,
    /// Longest a search waits for one of those slots before it is refused.
    pub search_queue_timeout: Duration,
    /// Longest a write with `refresh=wait_for` waits for the index.
    pub refresh_timeout: Duration,
    /// Requests per key.
    pub rates: RateSettings,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            max_concurrent_searches: 4,
            search_queue_timeout: Duration::from_secs(1),
            refresh_timeout: Duration::from_secs(10),
            rates: RateSettings::default(),
        }
    }
}

/// A token bucket's shape: `per_second` tokens flow in, at most `burst` are kept; a request
/// takes one. A rate of 0 means no limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `RATE` or `RATE/BURST`, in requests per second; the burst defaults to twice the rate.
    fn from_str(text: &str) -> Result<Self, String> {
        let number = |part: &str| {
            part.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("`{text}` is not RATE or RATE/BURST (requests per second)"))
        };
        let (per_second, burst) = match text.split_once('/') {
            Some((rate, burst)) => (number(rate)?, number(burst)?),
            None => {
                let rate = number(text)?;
                (rate, rate * 2.0)
            }
        };
        if per_second > 0.0 && burst < 1.0 {
            return Err(format!(
                "`{text}`: the burst must allow at least one request"
            ));
        }
        Ok(Self { per_second, burst })
    }
}

/// The rate of every key, and of the keys of some organizations.
#[derive(Clone, Debug, PartialEq)]
pub struct RateSettings {
    pub default: Rate,
    pub per_organization: HashMap<String, Rate>,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            default: Rate {
                per_second: 1000.0,
                burst: 2000.0,
            },
            per_organization: HashMap::new(),
        }
    }
}

/// The state behind the bounds: slots and buckets.
#[derive(Debug)]
pub(crate) struct Guards {
    settings: GuardSettings,
    requests: Arc<Semaphore>,
    searches: Arc<Semaphore>,
    /// Tokens left and when they were counted, by key id.
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Guards {
    pub(crate) fn new(settings: GuardSettings) -> Self {
        Self {
            requests: Arc::new(Semaphore::new(settings.max_concurrent_requests)),
            searches: Arc::new(Semaphore::new(settings.max_concurrent_searches)),
            buckets: Mutex::new(HashMap::new()),
            settings,
        }
    }

    /// Requests and searches running now, for `/metrics`.
    pub(crate) fn in_flight(&self) -> (i64, i64) {
        let running = |max: usize, slots: &Semaphore| {
            i64::try_from(max.saturating_sub(slots.available_permits())).unwrap_or(i64::MAX)
        };
        (
            running(self.settings.max_concurrent_requests, &self.requests),
            running(self.settings.max_concurrent_searches, &self.searches),
        )
    }

    /// Takes one token of the key's bucket, or says how long until there is one.
    pub(crate) fn take_token(&self, organization: &str, key_id: &str) -> Result<(), ApiError> {
        let rates = &self.settings.rates;
        let rate = rates
            .per_organization
            .get(organization)
            .copied()
            .unwrap_or(rates.default);
        if rate.per_second <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let (tokens, counted) = buckets
            .entry(key_id.to_owned())
            .or_insert((rate.burst, now));
        *tokens = (*tokens + now.duration_since(*counted).as_secs_f64() * rate.per_second)
            .min(rate.burst);
        *counted = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((1.0 - *tokens) / rate.per_second);
        Err(ApiError::RateLimited {
            message: format!(
                "this API key sent more than {} requests per second (burst {}); wait {} ms",
                rate.per_second,
                rate.burst,
                wait.as_millis().max(1)
            ),
            retry_after: wait,
        })
    }

    /// A slot for one search, waiting for one at most `search_queue_timeout`.
    pub(crate) async fn search_slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let wait = self.settings.search_queue_timeout;
        let acquired = tokio::time::timeout(wait, Arc::clone(&self.searches).acquire_owned()).await;
        match acquired {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::overloaded(format!(
                "{} searches are running and none ended within {} ms {}; try again shortly",
                self.settings.max_concurrent_searches,
                wait.as_millis(),
                limit_note(
                    "max_concurrent_searches",
                    self.settings.max_concurrent_searches
                )
            ))),
        }
    }
}

/// Middleware: refuses a request past the bound on requests at once, and answers one that
/// runs past its deadline.
pub(crate) async fn guard_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    if route
        .as_deref()
        .is_some_and(|route| NEVER_SHED.contains(&route))
    {
        return next.run(request).await;
    }
    let guards = &state.guards;
    let Ok(_slot) = Arc::clone(&guards.requests).try_acquire_owned() else {
        let max = guards.settings.max_concurrent_requests;
        return ApiError::overloaded(format!(
            "the server is handling {max} requests at once {}; try again shortly",
            limit_note("max_concurrent_requests", max)
        ))
        .into_response();
    };
    // An upload or import runs as long as its bytes keep coming; its idle timeout bounds it.
    if crate::extract::is_streamed(&request) {
        return next.run(request).await;
    }
    let deadline = guards.settings.request_timeout;
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timed_out(format!(
            "the request took longer than the {} ms this server allows {}",
            deadline.as_millis(),
            limit_note("request_timeout_ms", deadline.as_millis())
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards(rate: &str) -> Guards {
        let rate: Rate = rate.parse().unwrap_or_else(|e| panic!("{e}"));
        Guards::new(GuardSettings {
            rates: RateSettings {
                default: rate,
                per_organization: HashMap::from([(
                    "vip".to_owned(),
                    Rate {
                        per_second: 0.0,
                        burst: 0.0,
                    },
                )]),
            },
            ..GuardSettings::default()
        })
    }

    #[test]
    fn a_key_gets_its_burst_then_waits_for_the_rate() {
        let guards = guards("10/3");
        for _ in 0..3 {
            assert!(guards.take_token("o", "k1").is_ok());
        }
        let Err(ApiError::RateLimited { retry_after, .. }) = guards.take_token("o", "k1") else {
            panic!("a fourth request within the burst's time passed");
        };
        // One token flows in every 100 ms.
        assert!(retry_after <= Duration::from_millis(100), "{retry_after:?}");
        // Another key has its own bucket; an organization without a limit has none.
        assert!(guards.take_token("o", "k2").is_ok());
        for _ in 0..100 {
            assert!(guards.take_token("vip", "k3").is_ok());
        }
        std::thread::sleep(Duration::from_millis(120));
        assert!(guards.take_token("o", "k1").is_ok());
    }

    #[test]
    fn rates_parse_with_an_optional_burst() {
        assert_eq!(
            "5".parse::<Rate>(),
            Ok(Rate {
                per_second: 5.0,
                burst: 10.0
            })
        );
        assert_eq!(
            "0.5/4".parse::<Rate>(),
            Ok(Rate {
                per_second: 0.5,
                burst: 4.0
            })
        );
        assert!("-1".parse::<Rate>().is_err());
        assert!("5/0".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().is_err());
    }
}
