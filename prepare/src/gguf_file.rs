//! A whole GGUF file in memory: metadata, tensor table and tensor data, read and written.
//!
//! Reading first runs the core's header checker ([`intent_core::gguf::inspect`]), so a
//! truncated or corrupt file is refused with the same messages the engine gives.

use crate::quant::{dequantize, GgmlType};
use intent_core::{Error, Result, Status};
use std::path::Path;

/// GGUF alignment of the tensor data section when the file does not set one.
pub const DEFAULT_ALIGNMENT: usize = 32;
/// Most dimensions a tensor may have (ggml's limit).
const MAX_DIMS: usize = 4;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// uint8
    U8(u8),
    /// int8
    I8(i8),
    /// uint16
    U16(u16),
    /// int16
    I16(i16),
    /// uint32
    U32(u32),
    /// int32
    I32(i32),
    /// float32
    F32(f32),
    /// bool
    Bool(bool),
    /// string
    Str(String),
    /// uint64
    U64(u64),
    /// int64
    I64(i64),
    /// float64
    F64(f64),
    /// array of one element type (the type id is kept so empty arrays round-trip)
    Array(u32, Vec<Value>),
}

impl Value {
    fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::Str(_) => 8,
            Value::Array(..) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    /// The value as an unsigned integer, if it is an integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// One tensor: name, ggml dims (`dims[0]` varies fastest), type and raw bytes.
#[derive(Debug, Clone)]
pub struct Tensor {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// ggml dims: `[in_features, out_features]` for a weight matrix.
    pub dims: Vec<u64>,
    /// Storage type.
    pub ty: GgmlType,
    /// Raw data in that type.
    pub data: Vec<u8>,
}

impl Tensor {
    /// Number of elements.
    pub fn n_elements(&self) -> usize {
        self.dims.iter().map(|&d| d as usize).product()
    }

    /// The tensor as float32, row-major over the reversed dims (`[out][in]` for a matrix).
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        dequantize(self.ty, &self.data, self.n_elements()).map_err(|m| Error::new(Status::UnsupportedModel, format!("{}: {m}", self.name)))
    }

    /// A float tensor of the same name and dims, stored as `ty` (F32 or F16).
    pub fn from_f32(name: &str, dims: &[u64], values: &[f32], ty: GgmlType) -> Tensor {
        let data = match ty {
            GgmlType::F16 => values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect(),
            _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
        Tensor { name: name.to_string(), dims: dims.to_vec(), ty: if ty == GgmlType::F16 { ty } else { GgmlType::F32 }, data }
    }
}

/// A GGUF model file.
#[derive(Debug, Clone)]
pub struct GgufFile {
    /// Metadata in file order.
    pub metadata: Vec<(String, Value)>,
    /// Tensors in file order.
    pub tensors: Vec<Tensor>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(Error::new(Status::InvalidModel, format!("GGUF is truncated at byte {}", self.pos)));
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn string(&mut self) -> Result<String> {
        let n = self.u64()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| Error::new(Status::InvalidModel, "GGUF string is not UTF-8"))
    }
    fn value(&mut self, t: u32) -> Result<Value> {
        Ok(match t {
            0 => Value::U8(self.take(1)?[0]),
            1 => Value::I8(self.take(1)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.take(2)?.try_into().expect("2"))),
            3 => Value::I16(i16::from_le_bytes(self.take(2)?.try_into().expect("2"))),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(self.u32()? as i32),
            6 => Value::F32(f32::from_bits(self.u32()?)),
            7 => Value::Bool(self.take(1)?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                let et = self.u32()?;
                if et == 9 {
                    return Err(Error::new(Status::InvalidModel, "GGUF arrays of arrays are not supported"));
                }
                let n = self.u64()? as usize;
                // Every element takes at least one byte: no more can follow than bytes remain.
                let mut items = Vec::with_capacity(n.min(self.buf.len() - self.pos));
                for _ in 0..n {
                    items.push(self.value(et)?);
                }
                Value::Array(et, items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(self.u64()? as i64),
            12 => Value::F64(f64::from_bits(self.u64()?)),
            _ => return Err(Error::new(Status::InvalidModel, format!("unknown GGUF metadata type {t}"))),
        })
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend(x.to_le_bytes()),
        Value::I16(x) => out.extend(x.to_le_bytes()),
        Value::U32(x) => out.extend(x.to_le_bytes()),
        Value::I32(x) => out.extend(x.to_le_bytes()),
        Value::F32(x) => out.extend(x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::Str(s) => put_string(out, s),
        Value::U64(x) => out.extend(x.to_le_bytes()),
        Value::I64(x) => out.extend(x.to_le_bytes()),
        Value::F64(x) => out.extend(x.to_le_bytes()),
        Value::Array(et, items) => {
            out.extend(et.to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for i in items {
                put_value(out, i);
            }
        }
    }
}

impl GgufFile {
    /// Reads a whole GGUF file (header checked first).
    pub fn read(path: &Path) -> Result<GgufFile> {
        intent_core::gguf::inspect(path)?;
        let buf = std::fs::read(path).map_err(|e| Error::new(Status::Io, format!("cannot read {}: {e}", path.display())))?;
        GgufFile::parse(&buf).map_err(|e| Error::new(e.status, format!("{}: {}", path.display(), e.message)))
    }

    /// Parses GGUF bytes.
    pub fn parse(buf: &[u8]) -> Result<GgufFile> {
        let mut c = Cursor { buf, pos: 0 };
        if c.take(4)? != b"GGUF" {
            return Err(Error::new(Status::InvalidModel, "not a GGUF file (bad magic)"));
        }
        let version = c.u32()?;
        if !(2..=3).contains(&version) {
            return Err(Error::new(Status::UnsupportedModel, format!("GGUF version {version} is not supported")));
        }
        let n_tensors = c.u64()? as usize;
        let n_kv = c.u64()? as usize;
        let mut metadata = Vec::with_capacity(n_kv.min(1 << 16));
        for _ in 0..n_kv {
            let key = c.string()?;
            let t = c.u32()?;
            metadata.push((key, c.value(t)?));
        }
        let mut infos = Vec::with_capacity(n_tensors.min(1 << 16));
        for _ in 0..n_tensors {
            let name = c.string()?;
            let n_dims = c.u32()? as usize;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(Error::new(Status::InvalidModel, format!("tensor {name} has {n_dims} dimensions (1 to {MAX_DIMS})")));
            }
            let dims = (0..n_dims).map(|_| c.u64()).collect::<Result<Vec<_>>>()?;
            let ty = c.u32()?;
            let offset = c.u64()? as usize;
            infos.push((name, dims, ty, offset));
        }
        let file = GgufFile { metadata, tensors: Vec::new() };
        let alignment = file.get("general.alignment").and_then(Value::as_u64).map_or(DEFAULT_ALIGNMENT, |a| a as usize);
        if !alignment.is_power_of_two() {
            return Err(Error::new(Status::InvalidModel, format!("general.alignment {alignment} is not a power of two")));
        }
        let data_start = c.pos.div_ceil(alignment) * alignment;
        let mut tensors = Vec::with_capacity(infos.len());
        for (name, dims, ty_id, offset) in infos {
            let ty = GgmlType::from_id(ty_id)
                .ok_or_else(|| Error::new(Status::UnsupportedModel, format!("tensor {name}: ggml type {ty_id} is not supported here")))?;
            let too_large = || Error::new(Status::InvalidModel, format!("tensor {name} of dims {dims:?} is larger than the file"));
            let n = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?)).ok_or_else(too_large)?;
            let size = ty.bytes_for(n).ok_or_else(|| Error::new(Status::InvalidModel, format!("tensor {name}: {n} elements do not fill whole {ty:?} blocks")))?;
            let mut at = Cursor { buf, pos: data_start.checked_add(offset).ok_or_else(too_large)? };
            let data = at.take(size)?.to_vec();
            tensors.push(Tensor { name, dims, ty, data });
        }
        Ok(GgufFile { metadata: file.metadata, tensors })
    }

    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets (or adds) a metadata value.
    pub fn set(&mut self, key: &str, value: Value) {
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.metadata.push((key.to_string(), value)),
        }
    }

    /// An integer metadata value that must be present.
    pub fn require_u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::new(Status::InvalidModel, format!("GGUF metadata has no integer '{key}'")))
    }

    /// For a Llama q or k projection (`blk.N.attn_q.weight`, `blk.N.attn_k.weight`), the
    /// number of heads whose rotary halves llama.cpp's converter interleaved in its rows;
    /// `None` for every other tensor.
    pub fn permuted_heads(&self, tensor: &str) -> Result<Option<usize>> {
        let n_head = || self.require_u64("llama.attention.head_count").map(|v| v as usize);
        if tensor.ends_with(".attn_q.weight") {
            n_head().map(Some)
        } else if tensor.ends_with(".attn_k.weight") {
            match self.get("llama.attention.head_count_kv").and_then(Value::as_u64) {
                Some(kv) => Ok(Some(kv as usize)),
                None => n_head().map(Some),
            }
        } else {
            Ok(None)
        }
    }

    /// A tensor by name.
    pub fn tensor(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The file as GGUF v3 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let alignment = self.get("general.alignment").and_then(Value::as_u64).map_or(DEFAULT_ALIGNMENT, |a| a as usize);
        let mut out = Vec::new();
        out.extend(b"GGUF");
        out.extend(3u32.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.metadata.len() as u64).to_le_bytes());
        for (k, v) in &self.metadata {
            put_string(&mut out, k);
            out.extend(v.type_id().to_le_bytes());
            put_value(&mut out, v);
        }
        let mut offset = 0usize;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            put_string(&mut out, &t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.ty.id().to_le_bytes());
            out.extend((offset as u64).to_le_bytes());
            offsets.push(offset);
            offset = (offset + t.data.len()).div_ceil(alignment) * alignment;
        }
        out.resize(out.len().div_ceil(alignment) * alignment, 0);
        let start = out.len();
        for (t, off) in self.tensors.iter().zip(offsets) {
            out.resize(start + off, 0);
            out.extend(&t.data);
        }
        out
    }

    /// Writes the file (to a temporary name first, then renamed, so a failure leaves no
    /// half-written model behind).
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("gguf.partial");
        std::fs::write(&tmp, self.to_bytes())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| Error::new(Status::Io, format!("cannot write {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_through_bytes() {
        let mut f = GgufFile { metadata: Vec::new(), tensors: Vec::new() };
        f.set("general.architecture", Value::Str("llama".into()));
        f.set("llama.block_count", Value::U32(2));
        f.set("tokenizer.ggml.tokens", Value::Array(8, vec![Value::Str("a".into()), Value::Str("b".into())]));
        f.set("empty", Value::Array(4, vec![]));
        f.set("x", Value::F64(0.25));
        f.tensors.push(Tensor::from_f32("w", &[3, 2], &[1.0, -2.0, 0.5, 0.0, 3.0, 4.0], GgmlType::F16));
        f.tensors.push(Tensor::from_f32("n", &[3], &[1.0, 2.0, 3.0], GgmlType::F32));
        let bytes = f.to_bytes();
        let back = GgufFile::parse(&bytes).unwrap();
        assert_eq!(back.metadata, f.metadata);
        assert_eq!(back.tensor("w").unwrap().to_f32().unwrap(), vec![1.0, -2.0, 0.5, 0.0, 3.0, 4.0]);
        assert_eq!(back.tensor("n").unwrap().to_f32().unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn truncated_bytes_are_an_error_not_a_panic() {
        let mut f = GgufFile { metadata: Vec::new(), tensors: Vec::new() };
        f.set("general.architecture", Value::Str("llama".into()));
        f.tensors.push(Tensor::from_f32("w", &[4], &[1.0; 4], GgmlType::F32));
        let bytes = f.to_bytes();
        for cut in [3, 10, 30, bytes.len() - 1] {
            let e = GgufFile::parse(&bytes[..cut]).unwrap_err();
            assert_eq!(e.status, Status::InvalidModel, "cut at {cut}: {}", e.message);
        }
    }

    #[test]
    fn hostile_headers_are_errors_not_panics_or_huge_allocations() {
        let base = || {
            let mut f = GgufFile { metadata: Vec::new(), tensors: Vec::new() };
            f.set("general.architecture", Value::Str("llama".into()));
            f.tensors.push(Tensor::from_f32("w", &[4], &[1.0; 4], GgmlType::F32));
            f
        };
        let refused = |f: &GgufFile, what: &str| {
            let e = GgufFile::parse(&f.to_bytes()).unwrap_err();
            assert_eq!(e.status, Status::InvalidModel, "{what}: {}", e.message);
        };
        let mut f = base();
        f.set("general.alignment", Value::U32(32));
        let mut bytes = f.to_bytes();
        let key = b"general.alignment";
        let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len() + 4;
        bytes[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(GgufFile::parse(&bytes).unwrap_err().status, Status::InvalidModel, "alignment 0");
        let mut f = base();
        f.set("nested", Value::Array(9, vec![Value::Array(4, vec![])]));
        refused(&f, "array of arrays");
        let mut f = base();
        f.tensors[0].dims = vec![1 << 40, 1 << 40, 1 << 40];
        refused(&f, "dims whose product overflows");
        let mut f = base();
        f.tensors[0].dims = vec![1; 5];
        refused(&f, "five dimensions");
    }
}
