//! One response body: streamed chunk by chunk into the store's
//! [`Incoming`] (held in memory while small, a temporary file beyond that)
//! or only hashed, through the size cap, so memory does not grow with file
//! size.

use std::path::Path;

use tokio::io::AsyncWriteExt;

use super::failure::{self, FailureKind};
use super::retry::{AttemptError, AttemptFailure};
use crate::digest::{Digested, Digester, OverCap};
use crate::store::{IN_MEMORY, Incoming, Ingested, IoError, at};

/// Where a body goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sink<'a> {
    /// Into the store: a temporary file in this folder.
    Store(&'a Path),
    /// Hashed, then dropped.
    Discard,
}

/// A body received whole.
#[derive(Debug)]
pub(crate) enum Received {
    Stored(Ingested),
    Hashed(Digested),
}

impl Received {
    pub(crate) fn digest(&self) -> &Digested {
        match self {
            Received::Stored(ingested) => &ingested.digest,
            Received::Hashed(digest) => digest,
        }
    }
}

/// Reads `response`'s body into `sink`, at most `max` bytes.
pub(crate) async fn receive(
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
            let mut incoming = Incoming::new(dir, max);
            let mut file = None;
            if response
                .content_length()
                .is_some_and(|len| len > IN_MEMORY as u64)
            {
                file = Some(spill(&mut incoming, dir).await?);
            }
            let local = |err| AttemptError::Local(at(dir)(err));
            while let Some(chunk) = response.chunk().await.map_err(cut)? {
                incoming.accept(&chunk).map_err(too_large)?;
                if file.is_none() {
                    if incoming.keep(&chunk) {
                        continue;
                    }
                    file = Some(spill(&mut incoming, dir).await?);
                }
                if let Some(writer) = &mut file {
                    writer.write_all(&chunk).await.map_err(local)?;
                }
            }
            if let Some(mut writer) = file {
                writer.flush().await.map_err(local)?;
            }
            Ok(Received::Stored(incoming.finish()))
        }
    }
}

/// The body outgrew memory: its temporary file, with what was held so far
/// written. Buffered: each write to a tokio file is a trip to the blocking
/// pool.
async fn spill(
    incoming: &mut Incoming,
    dir: &Path,
) -> Result<tokio::io::BufWriter<tokio::fs::File>, AttemptError<IoError>> {
    let (file, held) = incoming.spill().map_err(out_of_descriptors)?;
    let mut writer =
        tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
    writer
        .write_all(&held)
        .await
        .map_err(|err| AttemptError::Local(at(dir)(err)))?;
    Ok(writer)
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
