//! The pure parts: format sniffing, entry paths, `PATH:NAME` splitting.

use super::*;

#[test]
fn sniffs_formats_by_content() {
    assert_eq!(sniff(b"\x93NUMPY\x01\x00v\x00{'descr'"), Some(Format::Npy));
    assert_eq!(sniff(b"PK\x03\x04\x14\x00"), Some(Format::Npz));
    assert_eq!(sniff(b"PK\x05\x06\0\0\0\0"), Some(Format::Npz)); // an empty archive
    assert_eq!(
        sniff(b"\x10\0\0\0\0\0\0\0{\"a\":"),
        Some(Format::Safetensors)
    );
    assert_eq!(sniff(b"\x10\0\0\0\0\0\0\0"), None); // nothing after the length
    assert_eq!(sniff(b"\x89HDF\r\n\x1a\n\0\0"), Some(Format::Hdf5));
    assert_eq!(sniff(b"\x93NUMP"), None);
    assert_eq!(sniff(b""), None);
    assert_eq!(sniff(b"hello, world, {}"), None);
}

#[test]
fn extensions_name_formats_for_errors() {
    assert_eq!(by_extension(Path::new("a/b.NPZ")), Some(Format::Npz));
    assert_eq!(
        by_extension(Path::new("m.safetensors")),
        Some(Format::Safetensors)
    );
    assert_eq!(by_extension(Path::new("x.npy")), Some(Format::Npy));
    assert_eq!(by_extension(Path::new("x.h5")), Some(Format::Hdf5));
    assert_eq!(by_extension(Path::new("x.txt")), None);
    assert_eq!(by_extension(Path::new("npz")), None);
}

#[test]
fn entry_paths() {
    assert_eq!(
        entry_path(Path::new("d/x.npz"), "w"),
        Path::new("d/x.npz:w")
    );
    assert_eq!(entry_path(Path::new("x.npy"), ""), Path::new("x.npy"));
    assert_eq!(entry_path(Path::new("m.st"), "a:b"), Path::new("m.st:a:b"));
}

#[test]
fn splits_at_the_longest_file_prefix() {
    let files = ["a.npz", "a.npz:b.npz", "m.safetensors", "x.npy"];
    let is_file = |p: &Path| files.iter().any(|f| Path::new(f) == p);
    let s = |spec: &str| {
        let (p, n) = split(Path::new(spec), is_file);
        (p.to_str().unwrap().to_string(), n)
    };
    let some = |p: &str, n: &str| (p.to_string(), Some(n.to_string()));
    assert_eq!(s("a.npz:b.npz:c"), some("a.npz:b.npz", "c"));
    assert_eq!(s("a.npz:c"), some("a.npz", "c"));
    assert_eq!(s("a.npz:c:d"), some("a.npz", "c:d"));
    assert_eq!(
        s("m.safetensors:layer.0:weight"),
        some("m.safetensors", "layer.0:weight")
    );
    assert_eq!(s("x.npy:"), some("x.npy", ""));
    assert_eq!(s("x.npy::"), some("x.npy", ":"));
    assert_eq!(s("gone.npz:w"), ("gone.npz:w".to_string(), None));
    assert_eq!(s(":w"), (":w".to_string(), None));
    assert_eq!(s("plain"), ("plain".to_string(), None));
}
