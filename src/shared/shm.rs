//! POSIX named shared memory (`shm_open`): arrays other processes open by name, Python's
//! `multiprocessing.shared_memory` among them.
