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

pub(crate) mod acquire;
pub(crate) mod archive;
pub(crate) mod bundle;
pub(crate) mod check;
pub mod cli;
pub mod commands;
pub(crate) mod config;
pub mod digest;
pub(crate) mod errors;
pub(crate) mod lines;
pub(crate) mod manifest;
pub(crate) mod net;
pub mod post;
pub(crate) mod progress;
pub mod reference;
pub(crate) mod render;
pub mod resource;
pub mod rewrite;
pub(crate) mod runner;
pub(crate) mod sniff;
pub mod store;
pub(crate) mod svg;
pub mod thumbnail;
pub(crate) mod urls;
pub(crate) mod verify;
