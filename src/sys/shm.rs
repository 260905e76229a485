//! POSIX named shared memory: `shm_open`, `shm_unlink`.
