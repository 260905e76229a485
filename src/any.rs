//! [`AnyArray`]: an array whose element type is known only at run time (placeholder).

/// An array whose element type is known only at run time (placeholder).
#[derive(Debug)]
pub enum AnyArray {}
