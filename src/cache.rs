//! Short-lived copies of what nearly every customer call reads and the operator rarely changes:
//! the account of an API key, and the restrictions and requirements of a country and type.
//! An entry lives [`TTL`]; a change made through this instance clears its cache at once, a
//! change made through another instance is seen here within [`TTL`] (docs/operations.md, "PostgreSQL and several instances").

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::Restrictions;
use crate::store::inventory::Requirement;

pub const TTL: Duration = Duration::from_secs(1);

/// Entries beyond this make the cache start over (it only holds what was used in the last TTL).
const MAX_ENTRIES: usize = 10_000;

pub struct TtlCache<K, V> {
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    fn new() -> Self {
        TtlCache {
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (at, _)| at.elapsed() < TTL);
        }
        map.insert(key, (Instant::now(), value));
    }

    pub fn clear(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The order rules of one country and type.
pub type Rules = (Restrictions, Vec<Requirement>);

pub struct Caches {
    /// API key hash → its account and key id (live keys only; unknown keys are not remembered).
    pub api_keys: TtlCache<String, crate::store::accounts::KeyOwner>,
    /// (country, type) → restrictions and requirements.
    pub rules: TtlCache<(String, String), Rules>,
}

impl Caches {
    pub fn new() -> Caches {
        Caches {
            api_keys: TtlCache::new(),
            rules: TtlCache::new(),
        }
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self::new()
    }
}
