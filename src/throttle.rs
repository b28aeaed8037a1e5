//! The throttle on failed authentication per client address: the operator token now, and every
//! later credential check that a person could guess at (console sign-in) through the same
//! [`AuthThrottle`].
//!
//! After `limit` failures from one address within a minute (counted from that address's first
//! failure), every further check from it is refused until the minute is over, correct
//! credentials included, so guessing is capped at `limit` tries a minute per address whatever
//! the answer. IPv6 clients are counted per `/64`: one subscriber usually holds a whole `/64`
//! and could otherwise use a fresh address for every guess.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a window lasts.
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most; past this, expired windows are dropped first, then the oldest.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed-authentication counts per client address (see the module documentation).
#[derive(Debug)]
pub struct AuthThrottle {
    limit: u32,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// The client is throttled; try again after this many whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: u64,
}

impl AuthThrottle {
    /// `limit` failures per minute per address; 0 turns the throttle off.
    pub fn new(limit: u32) -> AuthThrottle {
        AuthThrottle {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Call before checking the credentials: `Err` when `client` used up its failures in the
    /// current minute (then do not check them at all).
    pub fn check(&self, client: IpAddr) -> Result<(), Throttled> {
        self.check_at(client, Instant::now())
    }

    /// Call when the credentials were wrong or missing.
    pub fn failed(&self, client: IpAddr) {
        self.failed_at(client, Instant::now())
    }

    fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Throttled> {
        if self.limit == 0 {
            return Ok(());
        }
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(&key(client)) {
            Some(w) if w.failures >= self.limit && now < w.started + WINDOW => {
                let left = (w.started + WINDOW).saturating_duration_since(now);
                Err(Throttled {
                    retry_after_secs: left.as_secs_f64().ceil().max(1.0) as u64,
                })
            }
            _ => Ok(()),
        }
    }

    fn failed_at(&self, client: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(client);
        if !windows.contains_key(&k) && windows.len() >= MAX_TRACKED {
            // Expired windows go first; if that is not enough, the oldest tenth, so the cost
            // of a full table is paid once per many new addresses.
            windows.retain(|_, w| now < w.started + WINDOW);
            if windows.len() >= MAX_TRACKED {
                let mut starts: Vec<Instant> = windows.values().map(|w| w.started).collect();
                let (_, cut, _) = starts.select_nth_unstable(MAX_TRACKED / 10);
                let cut = *cut;
                windows.retain(|_, w| w.started > cut);
            }
        }
        let w = windows.entry(k).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= w.started + WINDOW {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

/// The address a client is counted under: itself, or its `/64` for IPv6 (an IPv4-mapped IPv6
/// address counts as its IPv4 address).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_limit_th_failure_closes_the_rest_of_the_minute() {
        let t = AuthThrottle::new(3);
        let start = Instant::now();
        let a = ip("192.0.2.1");
        for i in 0..3 {
            assert!(t.check_at(a, start).is_ok(), "attempt {i}");
            t.failed_at(a, start + Duration::from_secs(i));
        }
        let at20 = start + Duration::from_secs(20);
        assert_eq!(
            t.check_at(a, at20),
            Err(Throttled {
                retry_after_secs: 40
            })
        );
        // Another address is not affected.
        assert!(t.check_at(ip("192.0.2.2"), at20).is_ok());
        // The minute over, the address may try again, and its count starts afresh.
        let later = start + Duration::from_secs(60);
        assert!(t.check_at(a, later).is_ok());
        t.failed_at(a, later);
        assert!(t.check_at(a, later).is_ok());
    }

    #[test]
    fn ipv6_counts_per_64_and_zero_is_off() {
        let t = AuthThrottle::new(2);
        let now = Instant::now();
        t.failed_at(ip("2001:db8:1:2::1"), now);
        t.failed_at(ip("2001:db8:1:2::ffff"), now);
        assert!(t.check_at(ip("2001:db8:1:2:abcd::9"), now).is_err());
        assert!(t.check_at(ip("2001:db8:1:3::1"), now).is_ok());
        t.failed_at(ip("::ffff:198.51.100.1"), now);
        t.failed_at(ip("198.51.100.1"), now);
        assert!(t.check_at(ip("198.51.100.1"), now).is_err());

        let off = AuthThrottle::new(0);
        for _ in 0..100 {
            off.failed_at(ip("192.0.2.1"), now);
        }
        assert!(off.check_at(ip("192.0.2.1"), now).is_ok());
    }

    #[test]
    fn the_table_stays_bounded() {
        let t = AuthThrottle::new(1);
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            t.failed_at(IpAddr::V4(std::net::Ipv4Addr::from(i)), now);
        }
        assert!(t.windows.lock().unwrap().len() <= MAX_TRACKED);
    }
}
