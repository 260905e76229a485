//! safetensors files: named tensors, mapped in place (placeholder).
