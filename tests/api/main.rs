//! The API's integration tests, one binary (Zero To Production's layout): each
//! test gets the real app in-process on a random port against a fresh
//! PostgreSQL database (`tests/common`), one module per area.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod bad_input;
mod bad_requests;
mod browser;
mod concurrency;
mod cors;
mod database_outage;
mod directory;
mod import_guards;
mod import_legacy;
mod limits;
mod list_users;
mod localstripe;
mod migrations;
mod operability;
mod payment_methods;
mod payment_routes;
mod pooler;
mod postgres_tls;
mod routes;
mod stripe;
mod tokens;
mod webhooks;
