//! `user-worker`'s loop in-process, through the real broker and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod commands;
mod delivery;
mod directory;
