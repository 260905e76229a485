//! `MmapArray::resize`: placeholder.
