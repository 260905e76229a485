//! The processes a command is spread over (`--mpi`): [`Ranks`], what `stats` and `residency`
//! need of MPI beyond the library's reductions over a [`Link`] ([`ndmmap::ranks`]), [`agree`],
//! how a failure on one rank ends every rank at once, and [`reduced`], a reduction's failure
//! as the command reports it.
//!
//! Why a flag and not detection of `mpirun` (`OMPI_COMM_WORLD_SIZE`, `PMI_SIZE`, ...): the same
//! command under `mpirun` without `--mpi` is still meaningful (each rank reduces the whole
//! file, say to time the page cache), MPI initialization is then never attempted, and a build
//! without MPI can tell the user plainly what to rebuild with. A run under Open MPI's `mpirun`
//! without `--mpi` gets a note from rank 0 that the flag exists.

use crate::out::{Reported, Res};
use ndmmap::ranks::Link;
use std::ops::Range;

/// This process among the ranks of an MPI job: a [`Link`] for the library's reductions
/// ([`ndmmap::stats::Moments::reduce`], [`ndmmap::ranks::gather_residency`]), and the
/// collectives the commands use. Every method is collective but `rank`, `size` and `rows`:
/// every rank calls it, in the same order.
pub trait Ranks: Link {
    /// This rank's share of `len` indices: contiguous, balanced to within one.
    fn rows(&self, len: usize) -> Range<usize>;
    /// The lowest rank that passed `failed = true`, on every rank.
    fn lowest_failed(&self, failed: bool) -> Option<usize>;
    /// Whether every rank passed the same `x`, on every rank.
    fn all_same(&self, x: u64) -> bool;
}

/// A reduction's result as the command reports it: on rank 0 the failing rank's reason
/// (`rank K of N: why`, to be printed), on the rank that failed [`Reported`] (rank 0 says
/// why), on the others `Ok`.
pub fn reduced<T>(r: ndmmap::Result<T>) -> Res<T> {
    match r {
        Err(ndmmap::Error::RankFailed { .. }) => Err(Reported.into()),
        r => Ok(r?),
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
