//! A careful reader of GGUF headers: checks a model file before any backend maps it.
//!
//! It reads the metadata and the tensor table, with limits on every count and
//! length, and checks that every tensor's data lies inside the file, so a
//! truncated or corrupt file gets an error naming the problem instead of reaching
//! llama.cpp's asserts.

use crate::error::{Error, Result, Status};
use std::io::{BufReader, Read};
use std::path::Path;

const MAX_TENSORS: u64 = 1 << 20;
const MAX_KV: u64 = 1 << 20;
const MAX_STRING: u64 = 1 << 24;
const MAX_ARRAY: u64 = 1 << 27;
const MAX_DIMS: u32 = 4;

/// What the header says about a GGUF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufSummary {
    /// GGUF version (2 or 3).
    pub version: u32,
    /// Number of tensors.
    pub n_tensors: u64,
    /// Number of metadata entries.
    pub n_kv: u64,
    /// `general.architecture`, if present.
    pub architecture: Option<String>,
    /// `general.name`, if present.
    pub name: Option<String>,
    /// For a run-time LoRA adapter, the base it names (`intent.lora.base`), if a string.
    pub lora_base: Option<String>,
    /// Offset of the tensor data section.
    pub data_offset: u64,
    /// End of the last tensor's data (for the types whose sizes are known); the end of the
    /// header when no tensor has data.
    pub data_end: u64,
    /// Size of the file.
    pub file_size: u64,
}

/// Bytes per block and elements per block of a ggml tensor type, if known.
fn type_size(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),
        1 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (256, 84),
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        16 => (256, 66),
        17 => (256, 74),
        18 => (256, 98),
        19 => (256, 50),
        20 => (32, 18),
        21 => (256, 110),
        22 => (256, 82),
        23 => (256, 136),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 => (1, 8),
        28 => (1, 8),
        29 => (256, 56),
        30 => (1, 2),
        34 => (256, 54),
        35 => (256, 66),
        39 => (32, 17),
        _ => return None,
    })
}

struct Reader<R: Read> {
    inner: R,
    pos: u64,
    file_size: u64,
}

impl<R: Read> Reader<R> {
    fn bad(&self, what: impl std::fmt::Display) -> Error {
        Error::new(Status::InvalidModel, format!("corrupt GGUF at byte {}: {what}", self.pos))
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        if self.pos.saturating_add(n) > self.file_size {
            return Err(Error::new(
                Status::InvalidModel,
                format!("GGUF is truncated: header needs {n} bytes at offset {}, file has {}", self.pos, self.file_size),
            ));
        }
        let mut buf = vec![0u8; n as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| Error::new(Status::InvalidModel, format!("cannot read GGUF header at byte {}: {e}", self.pos)))?;
        self.pos += n;
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().unwrap_or_default()))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().unwrap_or_default()))
    }

    fn string(&mut self) -> Result<String> {
        let n = self.u64()?;
        if n > MAX_STRING {
            return Err(self.bad(format!("string of {n} bytes")));
        }
        let b = self.bytes(n)?;
        String::from_utf8(b).map_err(|_| self.bad("string is not UTF-8"))
    }

    fn skip_value(&mut self, t: u32, depth: u32) -> Result<Option<String>> {
        match t {
            0 | 1 | 7 => {
                self.bytes(1)?;
            }
            2 | 3 => {
                self.bytes(2)?;
            }
            4..=6 => {
                self.bytes(4)?;
            }
            10..=12 => {
                self.bytes(8)?;
            }
            8 => return self.string().map(Some),
            9 => {
                if depth > 0 {
                    return Err(self.bad("nested array"));
                }
                let et = self.u32()?;
                let n = self.u64()?;
                if n > MAX_ARRAY {
                    return Err(self.bad(format!("array of {n} elements")));
                }
                match et {
                    0..=7 | 10..=12 => {
                        let w = match et {
                            0 | 1 | 7 => 1,
                            2 | 3 => 2,
                            4..=6 => 4,
                            _ => 8,
                        };
                        self.bytes(n * w)?;
                    }
                    8 => {
                        for _ in 0..n {
                            self.string()?;
                        }
                    }
                    _ => return Err(self.bad(format!("array of unknown type {et}"))),
                }
            }
            _ => return Err(self.bad(format!("unknown metadata type {t}"))),
        }
        Ok(None)
    }
}

/// Reads and checks the header of the GGUF file at `path`.
pub fn inspect(path: &Path) -> Result<GgufSummary> {
    let file = std::fs::File::open(path).map_err(|e| {
        let status = if e.kind() == std::io::ErrorKind::NotFound { Status::ModelNotFound } else { Status::Io };
        Error::new(status, format!("cannot open model {}: {e}", path.display()))
    })?;
    let file_size = file.metadata().map_err(|e| Error::new(Status::Io, format!("{}: {e}", path.display())))?.len();
    inspect_reader(BufReader::new(file), file_size)
        .map_err(|e| Error::new(e.status, format!("{}: {}", path.display(), e.message)))
}

/// Reads and checks a GGUF header from a reader over a file of `file_size` bytes.
pub fn inspect_reader(inner: impl Read, file_size: u64) -> Result<GgufSummary> {
    let mut r = Reader { inner, pos: 0, file_size };
    if file_size < 24 {
        return Err(Error::new(Status::InvalidModel, format!("file of {file_size} bytes is too small to be a GGUF model")));
    }
    let magic = r.bytes(4)?;
    if magic != b"GGUF" {
        return Err(Error::new(Status::InvalidModel, "not a GGUF file (bad magic)"));
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(Error::new(Status::UnsupportedModel, format!("GGUF version {version} is not supported (2 or 3)")));
    }
    let n_tensors = r.u64()?;
    let n_kv = r.u64()?;
    if n_tensors > MAX_TENSORS || n_kv > MAX_KV {
        return Err(r.bad(format!("{n_tensors} tensors / {n_kv} metadata entries")));
    }
    let (mut architecture, mut name, mut lora_base, mut alignment) = (None, None, None, 32u64);
    for _ in 0..n_kv {
        let key = r.string()?;
        let t = r.u32()?;
        if key == "general.alignment" && t == 4 {
            alignment = u64::from(r.u32()?);
            if alignment == 0 || !alignment.is_power_of_two() {
                return Err(r.bad(format!("alignment {alignment}")));
            }
            continue;
        }
        let value = r.skip_value(t, 0)?;
        match key.as_str() {
            "general.architecture" => architecture = value,
            "general.name" => name = value,
            intent_plugin_abi::GGUF_LORA_BASE_KEY => lora_base = value,
            _ => {}
        }
    }
    let mut tensors = Vec::with_capacity(n_tensors.min(4096) as usize);
    for _ in 0..n_tensors {
        let tname = r.string()?;
        let n_dims = r.u32()?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(r.bad(format!("tensor '{tname}' has {n_dims} dimensions")));
        }
        let mut n_elems: u64 = 1;
        for _ in 0..n_dims {
            let d = r.u64()?;
            n_elems = n_elems.checked_mul(d).ok_or_else(|| r.bad(format!("tensor '{tname}' is too large")))?;
        }
        let ttype = r.u32()?;
        let offset = r.u64()?;
        if offset % alignment != 0 {
            return Err(r.bad(format!("tensor '{tname}' offset {offset} is not aligned to {alignment}")));
        }
        tensors.push((tname, n_elems, ttype, offset));
    }
    let data_offset = r.pos.div_ceil(alignment) * alignment;
    let mut data_end = r.pos;
    for (tname, n_elems, ttype, offset) in &tensors {
        let Some((block, bytes)) = type_size(*ttype) else { continue };
        if n_elems % block != 0 {
            return Err(r.bad(format!("tensor '{tname}' has {n_elems} elements, not a multiple of its block size {block}")));
        }
        let end = (n_elems / block)
            .checked_mul(bytes)
            .and_then(|size| data_offset.checked_add(*offset)?.checked_add(size))
            .ok_or_else(|| r.bad(format!("tensor '{tname}' lies beyond any file")))?;
        if end > file_size {
            return Err(Error::new(
                Status::InvalidModel,
                format!("GGUF is truncated: tensor '{tname}' ends at byte {end}, the file has {file_size} bytes"),
            ));
        }
        data_end = data_end.max(end);
    }
    Ok(GgufSummary { version, n_tensors, n_kv, architecture, name, lora_base, data_offset, data_end, file_size })
}

/// Whether the file starts with the GGUF magic.
pub fn is_gguf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"GGUF"
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal GGUF v3 file: one string key and one F32 tensor of `n` elements.
    pub(crate) fn tiny_gguf(arch: &str, n: u64) -> Vec<u8> {
        let mut v = tiny_gguf_header(arch, n);
        v.extend(std::iter::repeat_n(0u8, (n * 4) as usize));
        v
    }

    /// The header of [`tiny_gguf`], without the tensor data.
    fn tiny_gguf_header(arch: &str, n: u64) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"GGUF");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes());
        let s = |v: &mut Vec<u8>, s: &str| {
            v.extend_from_slice(&(s.len() as u64).to_le_bytes());
            v.extend_from_slice(s.as_bytes());
        };
        s(&mut v, "general.architecture");
        v.extend_from_slice(&8u32.to_le_bytes());
        s(&mut v, arch);
        s(&mut v, "w");
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&n.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&0u64.to_le_bytes());
        while v.len() % 32 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn reads_a_well_formed_header() {
        let f = tiny_gguf("llama", 8);
        let s = inspect_reader(&f[..], f.len() as u64).unwrap();
        assert_eq!(s.architecture.as_deref(), Some("llama"));
        assert_eq!(s.n_tensors, 1);
        assert_eq!(s.data_end, f.len() as u64);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let f = tiny_gguf("llama", 8);
        for cut in 0..f.len() {
            let e = inspect_reader(&f[..cut], cut as u64).unwrap_err();
            assert_eq!(e.status, Status::InvalidModel, "cut at {cut}: {}", e.message);
        }
    }

    #[test]
    fn bad_magic_and_huge_counts_are_rejected() {
        let mut f = tiny_gguf("llama", 8);
        f[0] = b'X';
        assert!(inspect_reader(&f[..], f.len() as u64).unwrap_err().message.contains("magic"));
        let mut f = tiny_gguf("llama", 8);
        f[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(inspect_reader(&f[..], f.len() as u64).unwrap_err().status, Status::InvalidModel);
    }

    #[test]
    fn a_tensor_size_that_overflows_is_an_error() {
        // Found by the gguf_header fuzz target: 2^62 F32 elements times 4 bytes wrapped to 0.
        let f = tiny_gguf_header("llama", 1 << 62);
        let e = inspect_reader(&f[..], f.len() as u64).unwrap_err();
        assert_eq!(e.status, Status::InvalidModel, "{}", e.message);
    }
}
