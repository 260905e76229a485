//! The processes a command is spread over (`--mpi`): [`Ranks`], what `stats` and `residency`
//! need of MPI, [`agree`], how a failure on one rank ends every rank at once, and
//! [`tree_reduce`], the rank-ordered reduction over point-to-point messages ([`Link`]).
//!
//! Why a flag and not detection of `mpirun` (`OMPI_COMM_WORLD_SIZE`, `PMI_SIZE`, ...): the same
//! command under `mpirun` without `--mpi` is still meaningful (each rank reduces the whole
//! file, say to time the page cache), MPI initialization is then never attempted, and a build
//! without MPI can tell the user plainly what to rebuild with. A run under Open MPI's `mpirun`
//! without `--mpi` gets a note from rank 0 that the flag exists.

use crate::out::{Reported, Res};
use std::ops::Range;

/// How [`Ranks::reduce`] merges: `merge(earlier, later)` appends the bytes of a later run of
/// ranks to those of an earlier one and returns the merged bytes.
pub type Merge<'a> = dyn FnMut(Vec<u8>, &[u8]) -> Res<Vec<u8>> + 'a;

/// This process among the ranks of an MPI job, and the collectives the commands use. Every
/// method is collective but `rank`, `size` and `rows`: every rank calls it, in the same order.
pub trait Ranks {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// This rank's share of `len` indices: contiguous, balanced to within one.
    fn rows(&self, len: usize) -> Range<usize>;
    /// The lowest rank that passed `failed = true`, on every rank.
    fn lowest_failed(&self, failed: bool) -> Option<usize>;
    /// Whether every rank passed the same `x`, on every rank.
    fn all_same(&self, x: u64) -> bool;
    /// Every rank's `mine` merged in rank order, at rank 0 (`Some`); `None` on the others.
    /// `merge(earlier, later)` merges the bytes of a later run of ranks into those of the
    /// run just before it and returns the merged bytes. A binomial tree ([`tree_reduce`]):
    /// `log2(size)` steps, messages of any length. If a merge fails, every rank still
    /// finishes (none hangs): rank 0 returns the first failure on its way up the tree as
    /// `rank K of N: why` (to be printed), the failing rank `Err(Reported)`, the others
    /// `Ok(None)`.
    fn reduce(&self, mine: Vec<u8>, merge: &mut Merge<'_>) -> Res<Option<Vec<u8>>>;
}

#[cfg(any(test, all(feature = "mpi", unix)))]
/// Point-to-point messages between ranks, for [`tree_reduce`]. A message is received whole,
/// into a buffer of its exact length.
pub trait Link {
    /// Sends `bytes` (at most the `max_message` of [`tree_reduce`]) to rank `to`.
    fn send(&self, to: usize, bytes: &[u8]);
    /// Receives the next message from rank `from` into `buf`, of its length.
    fn receive(&self, from: usize, buf: &mut [u8]);
}

#[cfg(any(test, all(feature = "mpi", unix)))]
/// The header of a run of ranks' bytes: whether they merged (1) or failed (0), the rank that
/// failed, and the length of what follows (the bytes, or why it failed).
const HEADER: usize = 17;

#[cfg(any(test, all(feature = "mpi", unix)))]
/// [`Ranks::reduce`] over `link`, for rank `rank` of `size`, in messages of at most
/// `max_message` bytes (MPI counts in `i32`: a longer message goes in pieces).
///
/// At step `2^k`, a rank `r` with `r % 2^(k+1) == 2^k` sends what it holds (its own bytes
/// merged with those of the ranks after it up to `r + 2^k`) to `r - 2^k` and is done; a rank
/// with `r % 2^(k+1) == 0` receives from `r + 2^k`, if there is one, and merges those later
/// bytes after its own. Every send has its receive whatever fails: a rank whose merge failed
/// (or that received a failure) drops later bytes but still receives them, and sends its
/// parent the failure instead of bytes, so no rank waits on a message that never comes.
pub fn tree_reduce(
    rank: usize,
    size: usize,
    link: &dyn Link,
    max_message: usize,
    mine: Vec<u8>,
    merge: &mut Merge<'_>,
) -> Res<Option<Vec<u8>>> {
    let max_message = max_message.max(1);
    // Ok(bytes), or the first failure seen: (rank that failed, why).
    let mut held: Result<Vec<u8>, (usize, String)> = Ok(mine);
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
            link.send(rank - step, &head);
            for piece in body.chunks(max_message) {
                link.send(rank - step, piece);
            }
            return match held {
                Err((origin, _)) if origin == rank => Err(Reported.into()),
                _ => Ok(None),
            };
        }
        if rank + step < size {
            let from = rank + step;
            let mut head = [0u8; HEADER];
            link.receive(from, &mut head);
            let word = |i: usize| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&head[i..i + 8]);
                u64::from_le_bytes(w) as usize
            };
            let (ok, origin, len) = (head[0] == 1, word(1), word(9));
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
        Err((origin, why)) => Err(format!("rank {origin} of {size}: {why}").into()),
    }
}

/// Makes this rank's `local` result every rank's verdict: if any rank failed, every rank fails
/// (the lowest failing rank says why, as one line naming it; the others fail silently), so no
/// rank waits in a collective the others never reach. Then `key` (what the ranks must agree
/// on, e.g. the array's shape) must be the same on every rank, or every rank fails.
pub fn agree<T>(r: &dyn Ranks, local: Res<T>, key: impl Fn(&T) -> u64) -> Res<T> {
    let failed = r.lowest_failed(local.is_err());
    let v = match (failed, local) {
        (Some(k), Err(e)) if k == r.rank() => {
            return Err(format!("rank {k} of {}: {e}", r.size()).into());
        }
        (Some(_), _) => return Err(Reported.into()),
        (None, Err(e)) => return Err(e),
        (None, Ok(v)) => v,
    };
    if r.all_same(key(&v)) {
        Ok(v)
    } else if r.rank() == 0 {
        Err(format!(
            "the {} ranks opened different arrays (dtype, shape, order, axis or slice differ): \
             give every rank the same file and options",
            r.size()
        )
        .into())
    } else {
        Err(Reported.into())
    }
}

/// The ranks of this job if `mpi` (MPI is initialized here, and finalized when they are
/// dropped), else `None`.
pub fn init(mpi: bool) -> Res<Option<Box<dyn Ranks>>> {
    if !mpi {
        if std::env::var("OMPI_COMM_WORLD_SIZE").is_ok_and(|n| n != "1")
            && std::env::var("OMPI_COMM_WORLD_RANK").is_ok_and(|r| r == "0")
        {
            crate::out::warn(
                "running under mpirun without --mpi: every rank reads the whole file and \
                 prints its own result (add --mpi to share the rows between ranks)",
            );
        }
        return Ok(None);
    }
    #[cfg(all(feature = "mpi", unix))]
    {
        crate::mpi::World::init().map(Some)
    }
    #[cfg(not(all(feature = "mpi", unix)))]
    {
        Err(if cfg!(unix) {
            "--mpi: this ndmmap was built without MPI; rebuild it with \
             `--features cli,mpi` (needs an MPI such as Open MPI: \
             apt-get install libopenmpi-dev openmpi-bin libclang-dev)"
        } else {
            "--mpi: MPI is supported on Unix only"
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{Receiver, Sender, channel};

    /// Ranks as threads, messages over channels (unbounded: a send never blocks, so a test
    /// that ends shows every receive found its message).
    struct Threads {
        to: Vec<Sender<Vec<u8>>>,
        from: Vec<Receiver<Vec<u8>>>,
    }

    impl Link for Threads {
        fn send(&self, to: usize, bytes: &[u8]) {
            self.to[to].send(bytes.to_vec()).unwrap();
        }
        fn receive(&self, from: usize, buf: &mut [u8]) {
            let m = self.from[from].recv().unwrap();
            assert_eq!(m.len(), buf.len(), "a message of another length");
            buf.copy_from_slice(&m);
        }
    }

    /// `tree_reduce` on `size` threads, rank `r` holding `mine(r)`, merging by `merge` on
    /// each rank: every rank's result.
    fn run(
        size: usize,
        max_message: usize,
        mine: impl Fn(usize) -> Vec<u8>,
        merge: impl Fn(usize, Vec<u8>, &[u8]) -> Res<Vec<u8>> + Sync,
    ) -> Vec<Result<Option<Vec<u8>>, String>> {
        // links[a].to[b] sends from a to b; links[b].from[a] receives it.
        let mut to: Vec<Vec<Sender<Vec<u8>>>> = (0..size).map(|_| Vec::new()).collect();
        let mut from: Vec<Vec<Receiver<Vec<u8>>>> = (0..size).map(|_| Vec::new()).collect();
        for senders in to.iter_mut() {
            for receivers in from.iter_mut() {
                let (tx, rx) = channel();
                senders.push(tx);
                receivers.push(rx);
            }
        }
        let links: Vec<Threads> = to
            .into_iter()
            .zip(from)
            .map(|(to, from)| Threads { to, from })
            .collect();
        let merge = &merge;
        std::thread::scope(|s| {
            let handles: Vec<_> = links
                .into_iter()
                .enumerate()
                .map(|(r, link)| {
                    let bytes = mine(r);
                    s.spawn(move || {
                        let mut m = |a: Vec<u8>, b: &[u8]| merge(r, a, b);
                        tree_reduce(r, size, &link, max_message, bytes, &mut m)
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    fn concat(_: usize, mut a: Vec<u8>, b: &[u8]) -> Res<Vec<u8>> {
        a.extend_from_slice(b);
        Ok(a)
    }

    #[test]
    fn ranks_merge_in_rank_order_in_pieces_of_any_size() {
        for size in 1..=9 {
            for max in [1, 2, 3, 1000] {
                // Rank r holds r + 1 bytes of value r: lengths differ, and one rank holds none.
                let mine = |r: usize| if r == 3 { vec![] } else { vec![r as u8; r + 1] };
                let got = run(size, max, mine, concat);
                let want: Vec<u8> = (0..size).flat_map(mine).collect();
                assert_eq!(got[0], Ok(Some(want)), "{size} ranks, pieces of {max}");
                assert!(got[1..].iter().all(|g| *g == Ok(None)), "{size}: {got:?}");
            }
        }
    }

    #[test]
    fn a_failed_merge_ends_every_rank_and_rank_0_says_which() {
        // In a tree of 8, rank 4 merges rank 5's bytes at the first step: make that fail.
        let merge = |r: usize, a: Vec<u8>, b: &[u8]| {
            if b.first() == Some(&5) {
                return Err(format!("cannot merge on rank {r}").into());
            }
            concat(r, a, b)
        };
        let got = run(8, 2, |r| vec![r as u8; 3], merge);
        assert_eq!(
            got[0],
            Err("rank 4 of 8: cannot merge on rank 4".to_string())
        );
        assert_eq!(got[4], Err(Reported.to_string()));
        for r in [1, 2, 3, 5, 6, 7] {
            assert_eq!(got[r], Ok(None), "rank {r}");
        }
        // Rank 0's own merge failing is rank 0's to say too.
        let merge = |r: usize, a: Vec<u8>, b: &[u8]| {
            if r == 0 && b.first() == Some(&2) {
                return Err("no".into());
            }
            concat(r, a, b)
        };
        let got = run(3, 1000, |r| vec![r as u8], merge);
        assert_eq!(got[0], Err("rank 0 of 3: no".to_string()));
        assert_eq!(&got[1..], &[Ok(None), Ok(None)]);
    }
}
