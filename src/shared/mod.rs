//! Sharing arrays beyond one borrow and beyond forked children: [`SharedArray`], an
//! `Arc`-backed handle whose owned sub-views are `'static`; [`memfd`] arrays passed to other
//! processes over Unix sockets; [`shm`] arrays named in the POSIX shared memory namespace.

pub mod memfd;
pub mod shm;

/// An `Arc`-backed handle to a mapping (placeholder, filled in below).
#[derive(Debug)]
pub struct SharedArray;
