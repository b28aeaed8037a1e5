//! Log lines on standard error: plain text for people, or one JSON object per line for log
//! collectors (`NUMBERDESK_LOG_FORMAT=json`).
//!
//! A JSON line carries `timestamp` (RFC 3339, UTC), `level`, `target`, `message`, the event's own
//! fields, and the fields of every span it happened in, at the top level. So a line logged while
//! a request is handled carries that request's `requestId` (the span opened for each request
//! holds it), and a collector can find every line of one request by that key. When a span and
//! the event name the same field, the event's value wins.
//!
//! `RUST_LOG` chooses what is logged in both formats (default `info,sqlx=warn`).

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// What is logged when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// Installs the process's logger, writing to standard error in `format`. Call once, early.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init`: a second call (tests) keeps the first logger rather than panicking.
    let _ = match format {
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(SpanFieldsLayer)
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(JsonLines)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}

/// Writes a message of the command itself (a fatal error, the demo banner) to standard error in
/// `format`, past any `RUST_LOG` filter: as `numberdesk: message` in text (the banner as it is),
/// as one JSON object in json, so that a collector reading JSON lines never meets a line of
/// plain text.
pub fn notice(format: LogFormat, level: tracing::Level, message: &str) {
    let line = match format {
        LogFormat::Text if level == tracing::Level::ERROR => format!("numberdesk: {message}"),
        LogFormat::Text => message.to_string(),
        LogFormat::Json => {
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            serde_json::json!({
                "timestamp": now,
                "level": level.as_str(),
                "target": "numberdesk",
                "message": message,
            })
            .to_string()
        }
    };
    eprintln!("{line}");
}

/// A span's fields as JSON values, kept in the span's extensions by [`SpanFieldsLayer`].
struct SpanFields(Map<String, Value>);

/// Records each span's fields (also those recorded after the span was opened) so that
/// [`JsonLines`] can put them on the lines logged inside it.
pub struct SpanFieldsLayer;

impl<S> Layer<S> for SpanFieldsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        } else {
            let mut fields = Map::new();
            values.record(&mut JsonVisitor(&mut fields));
            ext.insert(SpanFields(fields));
        }
    }
}

/// Formats an event as one line of JSON (see the module doc). Needs [`SpanFieldsLayer`] in the
/// same subscriber for span fields.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        line.insert("timestamp".into(), now.into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    for (k, v) in fields {
                        line.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Collects fields as JSON values: numbers and booleans as such, everything else as text.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer into a shared buffer, for reading back what was logged.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(buf: &Buf) -> Vec<Value> {
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect()
    }

    #[test]
    fn each_line_is_an_object_with_the_span_fields_on_top() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::registry().with(SpanFieldsLayer).with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLines)
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let span = tracing::info_span!(
                "request",
                requestId = "req-1",
                status = tracing::field::Empty
            );
            let _in = span.enter();
            tracing::warn!(count = 3, ok = true, "inside \"quoted\"\nnext line");
            span.record("status", 201);
            tracing::info!(status = "mine", "event wins");
        });
        let got = lines(&buf);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0]["message"], "outside");
        assert_eq!(got[0]["level"], "INFO");
        assert!(got[0].get("requestId").is_none());
        assert!(
            time::OffsetDateTime::parse(
                got[0]["timestamp"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()
        );
        assert_eq!(got[1]["requestId"], "req-1");
        assert_eq!(got[1]["message"], "inside \"quoted\"\nnext line");
        assert_eq!(got[1]["level"], "WARN");
        assert_eq!(got[1]["count"], 3);
        assert_eq!(got[1]["ok"], true);
        assert_eq!(got[2]["requestId"], "req-1");
        assert_eq!(got[2]["status"], "mine");
    }
}
