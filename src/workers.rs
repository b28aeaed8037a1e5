//! The background loops of the service, beside the HTTP server: aging and fulfilment (the
//! delivery workers live in [`crate::notify`]). They call the same services as the API.

use std::time::Duration;

use tokio::sync::watch;

use crate::{AppState, domain, orders, store};

/// Background work: returns aged numbers to stock and fulfils the open requests they may serve;
/// every tick also tries the requests created in the last seconds (see [`orders::Fulfil::Recent`]).
/// Imports and accepts fulfil what they can themselves, so idle ticks cost two small reads
/// however many requests are open. All open requests are tried once at start-up, for anything a
/// stopped process left. A pass stops between requests when the service stops.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first = true;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let mut scope = if first {
            orders::Fulfil::All
        } else {
            orders::Fulfil::Recent
        };
        first = false;
        match store::inventory::return_aged(&state.db, domain::now_ms()).await {
            Ok(n) if n > 0 => {
                tracing::info!(numbers = n, "aged numbers returned to stock");
                scope = orders::Fulfil::All;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "aging sweep failed"),
        }
        if let Err(e) = orders::fulfil(&state, scope, Some(&stop)).await {
            tracing::warn!(error = %e, "fulfilment sweep failed");
        }
    }
}
