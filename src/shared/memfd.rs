//! Anonymous memory files (`memfd_create`), sealed against shrinking, and passing an array's
//! descriptor to another process over a Unix socket (`SCM_RIGHTS`).
