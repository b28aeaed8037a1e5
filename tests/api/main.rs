//! Integration tests for numberdesk: the real application on `127.0.0.1:0` with a fresh SQLite
//! file per test, driven over HTTP exactly as docs/api.md describes the API.

mod helpers;

mod accounts;
mod apilog;
mod auth;
mod bench_driver;
mod catalog;
mod cli;
mod concurrency;
mod connections;
mod console;
mod email_confirm;
mod errors;
mod hardening;
mod idempotency;
mod import_stream;
mod inventory;
mod multi_instance;
mod notify;
mod notify_support;
mod openapi;
mod operations;
mod prices;
mod profile_versions;
mod profiles;
mod proptest_validation;
mod request_ids;
mod requests;
mod service;
mod stock_checks;
