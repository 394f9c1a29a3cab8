//! The integration tests: one binary, a module per area (as ripgrep's
//! tests are laid out). Every test runs the real rotproof binary against
//! HTTP servers on 127.0.0.1 that it starts itself.

mod cdn;
mod harness;
mod images;
pub mod server;

mod archive;
mod bundle;
mod check;
mod cli;
mod config;
#[cfg(unix)]
mod crash;
#[cfg(target_os = "linux")]
mod disk_full;
mod docs;
mod fetching;
mod hostile;
mod hotlink;
#[cfg(unix)]
mod interrupt;
mod layout;
mod nonsense;
mod post;
mod recover;
mod safety;
mod thumbnails;
mod tls;
mod verify;
mod web_archive;
