//! [`Ranks`] over MPI's world communicator (rsmpi; feature `mpi`, Unix); its messages are the
//! library's [`Comm`].

use crate::out::Res;
use crate::ranks::Ranks;
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use ndmmap::ranks::{Link, mpi::Comm};
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

impl Link for World {
    fn rank(&self) -> usize {
        Comm(&self.world).rank()
    }

    fn size(&self) -> usize {
        Comm(&self.world).size()
    }

    fn max_message(&self) -> usize {
        Comm(&self.world).max_message()
    }

    fn send(&self, to: usize, bytes: &[u8]) {
        Comm(&self.world).send(to, bytes);
    }

    fn receive(&self, from: usize, buf: &mut [u8]) {
        Comm(&self.world).receive(from, buf);
    }
}

impl Ranks for World {
    fn rows(&self, len: usize) -> Range<usize> {
        ndmmap::slab::rows(len, Link::rank(self), Link::size(self))
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
}
