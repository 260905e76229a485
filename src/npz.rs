//! `.npz` archives: numpy arrays inside a zip file, mapped in place (placeholder).
