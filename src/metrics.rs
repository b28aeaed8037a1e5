//! Prometheus metrics: HTTP requests by route and status with latencies, created requests by
//! status, and gauges read from the database at scrape time (requests and stock by status).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::domain::RequestStatus;
use crate::store::Db;

#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

impl Metrics {
    /// Installs the process-wide recorder once; later calls share it.
    pub fn install() -> Metrics {
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new()
                    .set_buckets(&[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ])
                    .expect("static buckets are valid")
                    .build_recorder();
                let handle = recorder.handle();
                // Another recorder may already be installed (a test harness); ours still renders.
                let _ = metrics::set_global_recorder(recorder);
                handle
            })
            .clone();
        Metrics { handle }
    }

    pub fn http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = [
            ("method", method.to_string()),
            ("route", route.to_string()),
            ("status", status.to_string()),
        ];
        metrics::counter!("numberdesk_http_requests_total", &labels).increment(1);
        metrics::histogram!("numberdesk_http_request_duration_seconds", &labels).record(seconds);
    }

    pub fn delivery(&self, channel: &str, outcome: &'static str) {
        metrics::counter!("numberdesk_delivery_attempts_total", "channel" => channel.to_string(), "outcome" => outcome).increment(1);
    }

    pub fn request_created(&self, status_id: i64) {
        let name = RequestStatus::from_id(status_id)
            .map(|s| s.name())
            .unwrap_or("unknown");
        metrics::counter!("numberdesk_number_requests_entered_total", "status" => name)
            .increment(1);
    }

    /// The text exposition, with the gauges read from the database now.
    pub async fn render(&self, db: &Db) -> String {
        let mut out = self.handle.render();
        out.push_str("# HELP numberdesk_number_requests Number requests by status.\n# TYPE numberdesk_number_requests gauge\n");
        let counts = crate::store::requests::counts_by_status(db, None)
            .await
            .unwrap_or_default();
        for (s, n) in counts {
            out.push_str(&format!(
                "numberdesk_number_requests{{status=\"{}\"}} {n}\n",
                s.name()
            ));
        }
        out.push_str("# HELP numberdesk_stock_numbers Numbers in stock by status.\n# TYPE numberdesk_stock_numbers gauge\n");
        let stock = crate::store::inventory::counts_by_status(db)
            .await
            .unwrap_or_default();
        for (id, name) in [(0, "available"), (1, "assigned"), (2, "aging")] {
            let n = stock
                .iter()
                .find(|(s, _)| *s == id)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            out.push_str(&format!(
                "numberdesk_stock_numbers{{status=\"{name}\"}} {n}\n"
            ));
        }
        out.push_str("# HELP numberdesk_deliveries Deliveries by state.\n# TYPE numberdesk_deliveries gauge\n");
        let deliveries = crate::store::deliveries::counts_by_state(db)
            .await
            .unwrap_or_default();
        for name in ["pending", "delivered", "failed"] {
            let n = deliveries
                .iter()
                .find(|(s, _)| s == name)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            out.push_str(&format!("numberdesk_deliveries{{state=\"{name}\"}} {n}\n"));
        }
        out
    }
}
