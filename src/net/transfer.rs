//! One response body: streamed chunk by chunk into the store's
//! [`Incoming`] file (or only hashed), through the size cap, so memory does
//! not grow with file size.

use std::path::Path;

use tokio::io::AsyncWriteExt;

use super::failure::{self, FailureKind};
use super::retry::{AttemptError, AttemptFailure};
use crate::digest::{Digested, Digester, OverCap};
use crate::store::{Incoming, Ingested, IoError, at};

/// Where a body goes.
#[derive(Debug, Clone, Copy)]
pub enum Sink<'a> {
    /// Into the store: a temporary file in this folder.
    Store(&'a Path),
    /// Hashed, then dropped.
    Discard,
}

/// A body received whole.
#[derive(Debug)]
pub enum Received {
    Stored(Ingested),
    Hashed(Digested),
}

impl Received {
    pub fn digest(&self) -> &Digested {
        match self {
            Received::Stored(ingested) => &ingested.digest,
            Received::Hashed(digest) => digest,
        }
    }
}

/// Reads `response`'s body into `sink`, at most `max` bytes.
pub async fn receive(
    mut response: reqwest::Response,
    sink: Sink<'_>,
    max: u64,
) -> Result<Received, AttemptError<IoError>> {
    let status = response.status().as_u16();
    let too_large = |OverCap { max }| {
        AttemptError::Failed(AttemptFailure::with_status(
            FailureKind::TooLarge { max },
            status,
        ))
    };
    let cut =
        |err: reqwest::Error| AttemptError::Failed(AttemptFailure::new(failure::from_body(&err)));
    match sink {
        Sink::Discard => {
            let mut digest = Digester::new(max);
            while let Some(chunk) = response.chunk().await.map_err(cut)? {
                digest.update(&chunk).map_err(too_large)?;
            }
            Ok(Received::Hashed(digest.finish()))
        }
        Sink::Store(dir) => {
            let mut incoming = Incoming::new(dir, max).map_err(out_of_descriptors)?;
            // Buffered: each write to a tokio file is a trip to the
            // blocking pool.
            let file = incoming.writer().map_err(AttemptError::Local)?;
            let mut writer =
                tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
            let local = |err| AttemptError::Local(at(dir)(err));
            while let Some(chunk) = response.chunk().await.map_err(cut)? {
                incoming.accept(&chunk).map_err(too_large)?;
                writer.write_all(&chunk).await.map_err(local)?;
            }
            writer.flush().await.map_err(local)?;
            Ok(Received::Stored(incoming.finish()))
        }
    }
}

/// A temporary file that cannot be opened for lack of descriptors is a
/// transient failure of this resource (retried, then recorded), not an
/// error that stops the run; any other is ours, and stops it.
fn out_of_descriptors(err: IoError) -> AttemptError<IoError> {
    if super::descriptors::exhausted(&err.source) {
        return AttemptError::Failed(AttemptFailure::new(FailureKind::OutOfDescriptors));
    }
    AttemptError::Local(err)
}
