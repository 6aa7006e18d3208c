//! ggml storage types this crate reads (the types of the engine's base models) and
//! their decoding to float32. Writing k-quants is llama.cpp's job (through the gguf-cpu
//! plugin's quantizer); this crate writes only F32 and F16.

/// A ggml tensor type this crate can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    /// float32
    F32,
    /// float16
    F16,
    /// 4-bit, blocks of 32 with one f16 scale; value = d * (q - 8)
    Q4_0,
    /// 4-bit, blocks of 32 with f16 scale and minimum; value = d * q + m
    Q4_1,
    /// 8-bit, blocks of 32 with one f16 scale; value = d * q
    Q8_0,
}

impl GgmlType {
    /// The type for a ggml type id, if this crate decodes it.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        Some(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            8 => GgmlType::Q8_0,
            _ => return None,
        })
    }

    /// The ggml type id.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q8_0 => 8,
        }
    }

    /// (elements per block, bytes per block)
    fn block(self) -> (usize, usize) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 => (1, 2),
            GgmlType::Q4_0 => (32, 18),
            GgmlType::Q4_1 => (32, 20),
            GgmlType::Q8_0 => (32, 34),
        }
    }

    /// Bytes that `n` elements take, or `None` when `n` is not a whole number of blocks.
    pub fn bytes_for(self, n: usize) -> Option<usize> {
        let (per, size) = self.block();
        if n % per == 0 {
            (n / per).checked_mul(size)
        } else {
            None
        }
    }
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    half::f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Decodes `n` elements of type `ty` from `data`.
pub fn dequantize(ty: GgmlType, data: &[u8], n: usize) -> Result<Vec<f32>, String> {
    let need = ty.bytes_for(n).ok_or_else(|| format!("{n} elements do not fill whole {ty:?} blocks"))?;
    if data.len() != need {
        return Err(format!("{ty:?} data of {} bytes, {need} expected for {n} elements", data.len()));
    }
    let mut out = Vec::with_capacity(n);
    match ty {
        GgmlType::F32 => out.extend(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        GgmlType::F16 => out.extend(data.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())),
        GgmlType::Q8_0 => {
            for b in data.chunks_exact(34) {
                let d = f16_at(b, 0);
                out.extend(b[2..].iter().map(|&q| d * f32::from(q as i8)));
            }
        }
        GgmlType::Q4_0 | GgmlType::Q4_1 => {
            let (qs_at, size) = if ty == GgmlType::Q4_0 { (2, 18) } else { (4, 20) };
            for b in data.chunks_exact(size) {
                let d = f16_at(b, 0);
                let (m, offset) = if ty == GgmlType::Q4_1 { (f16_at(b, 2), 0.0) } else { (0.0, 8.0) };
                let qs = &b[qs_at..];
                // Element j (0..16) is the low nibble of byte j, element j + 16 its high nibble.
                out.extend(qs.iter().map(|&q| d * (f32::from(q & 0x0F) - offset) + m));
                out.extend(qs.iter().map(|&q| d * (f32::from(q >> 4) - offset) + m));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16(v: f32) -> [u8; 2] {
        half::f16::from_f32(v).to_le_bytes()
    }

    #[test]
    fn q4_1_puts_low_nibbles_first() {
        let mut block = Vec::new();
        block.extend(f16(0.5));
        block.extend(f16(-1.0));
        block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let v = dequantize(GgmlType::Q4_1, &block, 32).unwrap();
        assert_eq!(v[0], -1.0);
        assert_eq!(v[3], 0.5 * 3.0 - 1.0);
        assert_eq!(v[16], 0.5 * 15.0 - 1.0);
        assert_eq!(v[31], -1.0);
    }

    #[test]
    fn q8_0_and_q4_0_are_signed() {
        let mut block = Vec::new();
        block.extend(f16(2.0));
        block.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let v = dequantize(GgmlType::Q8_0, &block, 32).unwrap();
        assert_eq!((v[0], v[31]), (-32.0, 30.0));
        let mut block = Vec::new();
        block.extend(f16(1.0));
        block.extend([0x80u8; 16]);
        let v = dequantize(GgmlType::Q4_0, &block, 32).unwrap();
        assert_eq!((v[0], v[16]), (-8.0, 0.0));
    }

    #[test]
    fn wrong_sizes_are_errors() {
        assert!(dequantize(GgmlType::Q4_1, &[0; 20], 31).unwrap_err().contains("whole"));
        assert!(dequantize(GgmlType::F32, &[0; 7], 2).unwrap_err().contains("8 expected"));
    }
}
