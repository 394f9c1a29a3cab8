//! rotproof makes Markdown posts survive link rot.
//!
//! The data's journey: a [`post::Post`] is parsed into
//! [`reference::Reference`]s (each URL with its exact span), grouped into
//! [`resource::Resource`]s keyed by normalised URL ([`urls`]), fetched
//! ([`net`]) into the content-addressed [`store`] ([`digest`]), given
//! thumbnails ([`thumbnail`]), and the post is rewritten by splicing local
//! paths into those spans ([`rewrite`]); the [`manifest`] records it all.
//! [`archive`] and [`check`] orchestrate those stages; [`bundle`] and
//! [`verify`] read what they left.

pub mod acquire;
pub mod archive;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod digest;
pub mod errors;
pub mod lines;
pub mod manifest;
pub mod net;
pub mod post;
pub mod progress;
pub mod reference;
pub mod render;
pub mod resource;
pub mod rewrite;
pub mod runner;
pub mod sniff;
pub mod store;
pub mod thumbnail;
pub mod urls;
pub mod verify;
