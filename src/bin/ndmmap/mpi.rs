//! [`Ranks`] over MPI's world communicator (rsmpi; feature `mpi`, Unix).

use crate::out::Res;
use crate::ranks::{self, Link, Ranks};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::ops::Range;

/// The world communicator, and the universe that finalizes MPI when dropped.
pub struct World {
    world: SimpleCommunicator,
    _universe: Universe,
}

impl World {
    /// Initializes MPI (`MPI_Init`).
    pub fn init() -> Res<Box<dyn Ranks>> {
        let universe = mpi::initialize().ok_or("--mpi: MPI was initialized already")?;
        Ok(Box::new(World {
            world: universe.world(),
            _universe: universe,
        }))
    }
}

/// The most bytes one MPI message holds: its counts are `i32`.
const MAX_MESSAGE: usize = i32::MAX as usize;

impl Link for World {
    fn send(&self, to: usize, bytes: &[u8]) {
        self.world.process_at_rank(to as i32).send(bytes);
    }

    fn receive(&self, from: usize, buf: &mut [u8]) {
        self.world.process_at_rank(from as i32).receive_into(buf);
    }
}

impl Ranks for World {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn rows(&self, len: usize) -> Range<usize> {
        ndmmap::slab::rows(len, self.rank(), self.size())
    }

    fn lowest_failed(&self, failed: bool) -> Option<usize> {
        let mine = if failed {
            self.world.rank()
        } else {
            self.world.size()
        };
        let mut lowest = 0i32;
        self.world
            .all_reduce_into(&mine, &mut lowest, SystemOperation::min());
        (lowest < self.world.size()).then_some(lowest as usize)
    }

    fn all_same(&self, x: u64) -> bool {
        let (mut lo, mut hi) = (0u64, 0u64);
        self.world
            .all_reduce_into(&x, &mut lo, SystemOperation::min());
        self.world
            .all_reduce_into(&x, &mut hi, SystemOperation::max());
        lo == hi
    }

    fn reduce(&self, mine: Vec<u8>, merge: &mut ranks::Merge<'_>) -> Res<Option<Vec<u8>>> {
        ranks::tree_reduce(self.rank(), self.size(), self, MAX_MESSAGE, mine, merge)
    }
}
