//! The command's arguments about files: which files, and for raw files their dtype, shape,
//! offset and order; which part of each (`--slice`). The numbers the user writes are read here (a shape by the library's
//! [`ndmmap::parse_shape`]), refused (never wrapped or clamped) when out of range.

use clap::Args;
use std::path::PathBuf;

/// Which files, and for raw files how to read them.
#[derive(Args, Debug)]
pub struct FileOpts {
    /// The array files: .npy, raw binary with --dtype (the raw options apply to each), or a
    /// member of an archive: FILE.npz:NAME, FILE.safetensors:NAME.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Raw files: numpy dtype of the elements (f8, <f4, i2, u1, c16, ...).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Raw files: comma-separated shape (default: 1-D over the elements after the offset).
    #[arg(long, allow_hyphen_values = true)]
    pub shape: Option<String>,
    /// Raw files: byte offset of element 0.
    #[arg(long, allow_hyphen_values = true, value_parser = parse_offset)]
    pub offset: Option<u64>,
    /// Raw files: memory order, C or F.
    #[arg(long)]
    pub order: Option<ndmmap::Order>,
    /// .npz archives: check each member's CRC-32 against its data (inflated where compressed)
    /// before using it; a member that fails is an error naming both checksums.
    #[arg(long)]
    pub verify: bool,
}

/// A slice of each array, in numpy's syntax.
#[derive(Args)]
pub struct Part {
    /// A slice in numpy syntax, e.g. `100:200,:`, `::2,5`, `-1` or `-5:`.
    #[arg(long, allow_hyphen_values = true)]
    pub slice: Option<String>,
}

/// The files, a slice of each, and `--json`: what every command but `info`, `create` and `demo`
/// takes.
#[derive(Args)]
pub struct Sel {
    #[command(flatten)]
    pub file: FileOpts,
    #[command(flatten)]
    pub part: Part,
    /// Print JSON: one object per file, an array of them for several.
    #[arg(long)]
    pub json: bool,
}

/// `--offset`: a byte count, refused (not wrapped or clamped) when negative or past `u64`.
fn parse_offset(s: &str) -> Result<u64, String> {
    let t = s.trim();
    match t.parse::<u64>() {
        Ok(v) => Ok(v),
        Err(_)
            if t.strip_prefix('-')
                .is_some_and(|d| d.parse::<u64>().is_ok()) =>
        {
            Err("a byte offset cannot be negative".into())
        }
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("larger than the largest file offset, {}", u64::MAX))
        }
        Err(_) => Err("not a whole number of bytes".into()),
    }
}
