//! Passing descriptors over Unix sockets (`sendmsg`/`recvmsg` with `SCM_RIGHTS`).
