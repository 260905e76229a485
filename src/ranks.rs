//! Reductions over the processes of a job (MPI ranks, or any transport between processes):
//! each rank's partial result merged in rank order at rank 0, over point-to-point messages.
//!
//! - [`Link`]: what a transport gives: this rank, the number of ranks, and messages sent to and
//!   received from one rank, of at most [`max_message`](Link::max_message) bytes. With the
//!   feature `mpi` (Unix), `ranks::mpi::Comm` is one over any rsmpi communicator.
//! - [`tree_reduce`]: bytes of any length merged in rank order along a binomial tree
//!   (`log2(size)` steps). A merge that fails ends every rank, none waits forever: rank 0
//!   returns [`Error::Rank`] (which rank, and why), the failing rank [`Error::RankFailed`], the
//!   others `Ok(None)`.
//! - [`Moments::reduce`](crate::stats::Moments::reduce): statistics computed by each rank on
//!   its rows, merged as one process would have computed them, at rank 0.
//! - [`gather_residency`]: each rank's rows and page residency, in rank order, at rank 0.
//!
//! Every call is collective: every rank makes it, in the same order.
//!
//! ```
//! use ndmmap::ranks::{Link, tree_reduce};
//!
//! /// A job of one rank: nothing to send.
//! struct Alone;
//! impl Link for Alone {
//!     fn rank(&self) -> usize { 0 }
//!     fn size(&self) -> usize { 1 }
//!     fn send(&self, _: usize, _: &[u8]) { unreachable!("one rank sends nothing") }
//!     fn receive(&self, _: usize, _: &mut [u8]) { unreachable!("one rank receives nothing") }
//! }
//!
//! let concat = |mut earlier: Vec<u8>, later: &[u8]| {
//!     earlier.extend_from_slice(later);
//!     Ok(earlier)
//! };
//! assert_eq!(tree_reduce(&Alone, b"mine".to_vec(), concat)?, Some(b"mine".to_vec()));
//! # Ok::<(), ndmmap::Error>(())
//! ```

use crate::stats::Moments;
use crate::{Error, Residency, Result};
use std::ops::Range;

/// Point-to-point messages between the ranks of a job, for [`tree_reduce`]. A message is
/// received whole, into a buffer of its exact length, and messages from one rank to another
/// arrive in the order they were sent (MPI's guarantee).
pub trait Link {
    /// This process's rank, from 0, below [`size`](Self::size).
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// The most bytes one message holds (at least 1); longer ones go in pieces. MPI counts in
    /// `i32`; the default is no limit.
    fn max_message(&self) -> usize {
        usize::MAX
    }
    /// Sends `bytes` (at most [`max_message`](Self::max_message) of them) to rank `to`.
    fn send(&self, to: usize, bytes: &[u8]);
    /// Receives the next message from rank `from` into `buf`, of its length.
    fn receive(&self, from: usize, buf: &mut [u8]);
}

/// The header of a run of ranks' bytes: whether they merged (1) or failed (0), the rank that
/// failed, and the length of what follows (the bytes, or why it failed).
const HEADER: usize = 17;

/// Every rank's `mine` merged in rank order, at rank 0 (`Ok(Some)`); `Ok(None)` on the others.
/// `merge(earlier, later)` merges the bytes of a later run of ranks into those of the run just
/// before it and returns the merged bytes; messages are of any length, sent in pieces of at
/// most [`Link::max_message`] bytes (a header of 17 bytes
/// too).
///
/// At step `2^k`, a rank `r` with `r % 2^(k+1) == 2^k` sends what it holds (its own bytes merged
/// with those of the ranks after it up to `r + 2^k`) to `r - 2^k` and is done; a rank with
/// `r % 2^(k+1) == 0` receives from `r + 2^k`, if there is one, and merges those later bytes
/// after its own. Every send has its receive whatever fails: a rank whose merge failed (or that
/// received a failure) drops later bytes but still receives them, and sends its parent the
/// failure instead of bytes, so no rank waits on a message that never comes. Rank 0 then
/// returns the first failure on its way up the tree as [`Error::Rank`], the rank that failed
/// [`Error::RankFailed`] (rank 0 reports it; print it there only), the others `Ok(None)`.
pub fn tree_reduce<L: Link + ?Sized>(
    link: &L,
    mine: Vec<u8>,
    mut merge: impl FnMut(Vec<u8>, &[u8]) -> Result<Vec<u8>>,
) -> Result<Option<Vec<u8>>> {
    let (rank, size) = (link.rank(), link.size());
    let max_message = link.max_message().max(1);
    // Ok(bytes), or the first failure seen: (rank that failed, why).
    let mut held: std::result::Result<Vec<u8>, (usize, String)> = Ok(mine);
    let mut step = 1usize;
    while step < size {
        if rank % (2 * step) == step {
            let (ok, origin, body) = match &held {
                Ok(bytes) => (1u8, rank, bytes.as_slice()),
                Err((origin, why)) => (0u8, *origin, why.as_bytes()),
            };
            let mut head = [0u8; HEADER];
            head[0] = ok;
            head[1..9].copy_from_slice(&(origin as u64).to_le_bytes());
            head[9..].copy_from_slice(&(body.len() as u64).to_le_bytes());
            for piece in head.chunks(max_message).chain(body.chunks(max_message)) {
                link.send(rank - step, piece);
            }
            return match held {
                Err((origin, _)) if origin == rank => Err(Error::RankFailed { rank, size }),
                _ => Ok(None),
            };
        }
        if rank + step < size {
            let from = rank + step;
            let mut head = [0u8; HEADER];
            for piece in head.chunks_mut(max_message) {
                link.receive(from, piece);
            }
            let (ok, origin, len) = (head[0] == 1, word(&head[1..9]), word(&head[9..]));
            let mut body = vec![0u8; len];
            for piece in body.chunks_mut(max_message) {
                link.receive(from, piece);
            }
            held = match held {
                Ok(bytes) if ok => merge(bytes, &body).map_err(|e| (rank, e.to_string())),
                Ok(_) => Err((origin, String::from_utf8_lossy(&body).into_owned())),
                failed => failed,
            };
        }
        step *= 2;
    }
    // Only rank 0 gets here: every other rank sent at the step of its lowest set bit.
    match held {
        Ok(bytes) => Ok(Some(bytes)),
        Err((rank, why)) => Err(Error::Rank { rank, size, why }),
    }
}

/// A little-endian `u64` of 8 bytes, as a `usize`.
fn word(b: &[u8]) -> usize {
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    u64::from_le_bytes(w) as usize
}

impl Moments {
    /// Every rank's moments merged in rank order at rank 0 (`Ok(Some)`), as one process
    /// reducing all the ranks' values in order would have them; `Ok(None)` on the other ranks.
    /// Each rank passes its part of the same selection (say [`Stats::share`]'s, or those of
    /// its slab, `ndmmap::slab`). Collective ([`tree_reduce`], whose errors it returns): a
    /// rank whose moments do not merge (another shape or kind) makes rank 0 return
    /// [`Error::Rank`] naming it.
    ///
    /// Over MPI it is `moments.reduce(&Comm(&world))?`, with `ranks::mpi::Comm` (feature
    /// `mpi`), whose documentation has the whole program.
    ///
    /// [`Stats::share`]: crate::stats::Stats::share
    pub fn reduce<L: Link + ?Sized>(self, link: &L) -> Result<Option<Moments>> {
        let all = tree_reduce(link, self.to_bytes(), |earlier, later| {
            let mut m = Moments::from_bytes(&earlier)?;
            m.merge(&Moments::from_bytes(later)?)?;
            Ok(m.to_bytes())
        })?;
        all.map(|b| Moments::from_bytes(&b)).transpose()
    }
}

/// One rank's slab and how much of it is in RAM, from [`gather_residency`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlabResidency {
    /// The rows of the whole array that the rank holds.
    pub rows: Range<usize>,
    /// Its pages resident and in all, or `None` where the OS could not tell.
    pub residency: Option<Residency>,
}

/// One rank's record in [`gather_residency`]: rows start and end, resident and total pages,
/// whether known.
const RECORD: usize = 5 * 8;

/// Each rank's `rows` (of the whole array: its slab's) and the residency of its pages (`None`
/// where the OS could not tell), gathered at rank 0 in rank order (`Ok(Some)`, one entry per
/// rank); `Ok(None)` on the other ranks. Collective ([`tree_reduce`]).
pub fn gather_residency<L: Link + ?Sized>(
    link: &L,
    rows: Range<usize>,
    residency: Option<Residency>,
) -> Result<Option<Vec<SlabResidency>>> {
    let mine: Vec<u8> = [
        rows.start,
        rows.end,
        residency.map_or(0, |x| x.resident),
        residency.map_or(0, |x| x.total),
        usize::from(residency.is_some()),
    ]
    .iter()
    .flat_map(|&x| (x as u64).to_le_bytes())
    .collect();
    // Each rank's record after the records of the ranks before it.
    let all = tree_reduce(link, mine, |mut earlier, later| {
        earlier.extend_from_slice(later);
        Ok(earlier)
    })?;
    Ok(all.map(|all| {
        all.chunks_exact(RECORD)
            .map(|p| {
                let x = |i: usize| word(&p[8 * i..8 * i + 8]);
                let known = x(4) != 0;
                SlabResidency {
                    rows: x(0)..x(1),
                    residency: known.then_some(Residency {
                        resident: x(2),
                        total: x(3),
                    }),
                }
            })
            .collect()
    }))
}

/// [`Link`] over an rsmpi communicator (feature `mpi`, Unix).
///
/// Each rank computes the statistics of its own rows of a file and rank 0 prints those of the
/// whole file:
///
/// ```no_run
/// use ndmmap::ranks::mpi::Comm;
/// use ndmmap::stats::Stats;
/// use mpi::traits::*;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let universe = mpi::initialize().ok_or("MPI was initialized already")?;
/// let world = universe.world();
/// let (rank, size) = (world.rank() as usize, world.size() as usize);
/// // SAFETY: nobody truncates or rewrites data.npy while `a` lives.
/// let a = unsafe { ndmmap::npy::open::<f64, ndarray::Ix2>("data.npy")? };
/// let mine = Stats::along(0).share(rank, size).of(&a)?;   // this rank's rows
/// if let Some(all) = mine.reduce(&Comm(&world))? {        // rank 0 only
///     println!("mean {}", all.mean());
/// }
/// # Ok(()) }
/// ```
#[cfg(all(feature = "mpi", unix))]
pub mod mpi {
    use super::Link;
    use mpi::traits::{Communicator, Destination, Source};

    /// A communicator as a [`Link`]: its ranks, and messages of at most `i32::MAX` bytes (MPI
    /// counts in `i32`) with the default tag. No other point-to-point message between the same
    /// ranks should be in flight on the communicator during a reduction; a program that has
    /// some reduces over a duplicate (`comm.duplicate()`).
    pub struct Comm<'a, C: Communicator>(pub &'a C);

    impl<C: Communicator> Link for Comm<'_, C> {
        fn rank(&self) -> usize {
            // rsmpi's ranks and sizes are non-negative `i32`s.
            self.0.rank() as usize
        }

        fn size(&self) -> usize {
            self.0.size() as usize
        }

        fn max_message(&self) -> usize {
            i32::MAX as usize
        }

        fn send(&self, to: usize, bytes: &[u8]) {
            self.0.process_at_rank(to as i32).send(bytes);
        }

        fn receive(&self, from: usize, buf: &mut [u8]) {
            self.0.process_at_rank(from as i32).receive_into(buf);
        }
    }
}

#[cfg(test)]
mod tests;
