//! A GPTQ layer's tensors (`qweight`, `qzeros`, `scales`, `g_idx`): their decoding, the
//! act-order permutation, and the repacking into the layout of libintent's int4 kernel
//! (`backends/candle-llama/kernels/int4.cu`). Tested here against hand-made tensors.

use crate::{Error, GptqConfig, Result, Status, ZeroFormat};

fn invalid(message: String) -> Error {
    Error::new(Status::InvalidModel, message)
}

fn unsupported(message: String) -> Error {
    Error::new(Status::UnsupportedModel, message)
}

/// One quantized linear layer, decoded: `w[k, n] = scale[g, n] * (q[k, n] - zero[g, n])`
/// with `g = g_idx[k]`, for input row `k` and output column `n` (the transpose of
/// `nn.Linear.weight`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantLinear {
    /// Input features (rows of `q`).
    pub k: usize,
    /// Output features.
    pub n: usize,
    /// Bits per weight.
    pub bits: u32,
    /// Rows per group.
    pub group_size: usize,
    /// Quantized values, `[k][n]`.
    pub q: Vec<u8>,
    /// True zero points (after the v1 offset), `[groups][n]`.
    pub zeros: Vec<i32>,
    /// Scales, `[groups][n]`.
    pub scales: Vec<f32>,
    /// The group of each input row.
    pub g_idx: Vec<u32>,
}

/// The packed tensors of one layer as a checkpoint stores them.
pub struct PackedTensors<'a> {
    /// `[k * bits / 32][n]`, packed along k, lowest bits first.
    pub qweight: &'a [i32],
    /// `[groups][n * bits / 32]`, packed along n.
    pub qzeros: &'a [i32],
    /// `[groups][n]`.
    pub scales: &'a [f32],
    /// `[k]`, when the checkpoint has it.
    pub g_idx: Option<&'a [i32]>,
}

/// The kernel layout of a 4-bit layer (see `kernels/int4.cu`), with act-order rows sorted
/// so that groups are contiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct Int4Packed {
    /// Input features.
    pub k: usize,
    /// Output features.
    pub n: usize,
    /// Rows per group.
    pub group_size: usize,
    /// For each block of 32 columns, each block of 32 (sorted) rows, each of the 32 lanes of
    /// a warp: 4 words, one per 8-column tile (see [`Int4Packed::word_index`]).
    pub words: Vec<u32>,
    /// Scales as f16 bits, `[groups][n / 32][8][4]` (column `32 b + 8 j + i` at `[b][i][j]`).
    pub scales: Vec<u16>,
    /// `1024 + zero` as f16 bits, same layout as the scales.
    pub zeros: Vec<u16>,
    /// Sorted row `k'` is checkpoint row `perm[k']`; `None` when rows are in order.
    pub perm: Option<Vec<u32>>,
}

fn unpack_bits(words: &[i32], bits: u32, index: usize) -> u32 {
    let per = (32 / bits) as usize;
    let w = words[index / per] as u32;
    (w >> (bits as usize * (index % per))) & ((1u32 << bits) - 1)
}

impl QuantLinear {
    /// Decodes a layer's packed tensors. `warnings` receives a note when the zero points
    /// contradict the checkpoint's format label (they are then read as the data says).
    pub fn from_packed(t: &PackedTensors<'_>, k: usize, n: usize, cfg: &GptqConfig, name: &str, warnings: &mut Vec<String>) -> Result<QuantLinear> {
        let bits = cfg.bits;
        let per = (32 / bits) as usize;
        cfg.check_shape(name, k, n)?;
        let group_size = cfg.group_size.map_or(k, |g| g as usize);
        let groups = k / group_size;
        let expect = |what: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(invalid(format!("{name}.{what} has {got} elements, expected {want} for {k} x {n}, {bits} bits, {groups} groups")))
            }
        };
        expect("qweight", t.qweight.len(), k / per * n)?;
        expect("qzeros", t.qzeros.len(), groups * n / per)?;
        expect("scales", t.scales.len(), groups * n)?;
        let mut q = vec![0u8; k * n];
        for (row, out) in q.chunks_exact_mut(n).enumerate() {
            let words = &t.qweight[(row / per) * n..(row / per + 1) * n];
            let shift = bits as usize * (row % per);
            for (o, &w) in out.iter_mut().zip(words) {
                *o = ((w as u32 >> shift) & ((1 << bits) - 1)) as u8;
            }
        }
        let stored: Vec<i32> = (0..groups * n).map(|i| unpack_bits(&t.qzeros[(i / n) * (n / per)..], bits, i % n) as i32).collect();
        let format = Self::zero_format(&stored, cfg, name, warnings);
        let offset = if format == ZeroFormat::V1 { 1 } else { 0 };
        let zeros = stored.iter().map(|z| z + offset).collect();
        let g_idx = match t.g_idx {
            Some(g) => {
                expect("g_idx", g.len(), k)?;
                g.iter()
                    .map(|&v| u32::try_from(v).ok().filter(|&v| (v as usize) < groups).ok_or_else(|| invalid(format!("{name}.g_idx holds group {v}, outside 0..{groups}"))))
                    .collect::<Result<Vec<u32>>>()?
            }
            None => (0..k).map(|r| (r / group_size) as u32).collect(),
        };
        if let Some(bad) = t.scales.iter().find(|s| !s.is_finite()) {
            return Err(invalid(format!("{name}.scales holds {bad}")));
        }
        Ok(QuantLinear { k, n, bits, group_size, q, zeros, scales: t.scales.to_vec(), g_idx })
    }

    /// The zero format the data shows: for symmetric checkpoints every stored zero is the
    /// middle value (7 for v1 4-bit, 8 for v2); a label that disagrees is noted and overruled.
    fn zero_format(stored: &[i32], cfg: &GptqConfig, name: &str, warnings: &mut Vec<String>) -> ZeroFormat {
        if !cfg.sym {
            return cfg.zero_format;
        }
        let mid = 1i32 << (cfg.bits - 1);
        let seen = if stored.iter().all(|&z| z == mid - 1) {
            ZeroFormat::V1
        } else if stored.iter().all(|&z| z == mid) {
            ZeroFormat::V2
        } else {
            return cfg.zero_format;
        };
        if seen != cfg.zero_format {
            warnings.push(format!(
                "{name}: the checkpoint says {:?} zero points but its symmetric zeros are all {}, which is {seen:?}; read as {seen:?}",
                cfg.zero_format, stored[0]
            ));
        }
        seen
    }

    /// Number of groups.
    pub fn n_groups(&self) -> usize {
        self.k / self.group_size
    }

    /// The decoded weight of input row `k` and output column `n`.
    pub fn weight(&self, k: usize, n: usize) -> f32 {
        let g = self.g_idx[k] as usize * self.n + n;
        self.scales[g] * (self.q[k * self.n + n] as i32 - self.zeros[g]) as f32
    }

    /// The decoded weights in `nn.Linear` layout, `[n][k]`.
    pub fn dense_nk(&self) -> Vec<f32> {
        let mut w = vec![0f32; self.n * self.k];
        for k in 0..self.k {
            for n in 0..self.n {
                w[n * self.k + k] = self.weight(k, n);
            }
        }
        w
    }

    /// The row order that makes groups contiguous: `None` when `g_idx` is already
    /// `k / group_size`, else the rows sorted by group (stable). Each group must then hold
    /// exactly `group_size` rows, as act-order writes them.
    pub fn act_order_permutation(&self) -> Result<Option<Vec<u32>>> {
        let gs = self.group_size;
        if self.g_idx.iter().enumerate().all(|(k, &g)| g as usize == k / gs) {
            return Ok(None);
        }
        let mut perm: Vec<u32> = (0..self.k as u32).collect();
        perm.sort_by_key(|&k| self.g_idx[k as usize]);
        for (kp, &k) in perm.iter().enumerate() {
            if self.g_idx[k as usize] as usize != kp / gs {
                return Err(unsupported(format!(
                    "g_idx puts a number of rows other than group_size {gs} in group {}: this grouping is not supported",
                    self.g_idx[k as usize]
                )));
            }
        }
        Ok(Some(perm))
    }

    /// Repacks a 4-bit layer into the int4 kernel's layout.
    pub fn repack_int4(&self) -> Result<Int4Packed> {
        let (k, n) = (self.k, self.n);
        if self.bits != 4 {
            return Err(unsupported(format!("{}-bit weights in the int4 kernel are not supported", self.bits)));
        }
        if k % 32 != 0 || n % 32 != 0 || self.group_size % 32 != 0 {
            return Err(unsupported(format!(
                "a layer of {k} inputs, {n} outputs and groups of {} in the int4 kernel is not supported (all multiples of 32)",
                self.group_size
            )));
        }
        let perm = self.act_order_permutation()?;
        let row = |kp: usize| perm.as_ref().map_or(kp, |p| p[kp] as usize);
        let (kb_count, nb_count) = (k / 32, n / 32);
        let mut words = vec![0u32; n * k / 8];
        for nb in 0..nb_count {
            for kb in 0..kb_count {
                for lane in 0..32 {
                    let (gid, tig) = (lane / 4, lane % 4);
                    for j in 0..4 {
                        let col = nb * 32 + 8 * j + gid;
                        let mut word = 0u32;
                        for pair in 0..4 {
                            let base = kb * 32 + (pair / 2) * 16 + (pair % 2) * 8 + 2 * tig;
                            for e in 0..2 {
                                let q = self.q[row(base + e) * n + col] as u32;
                                word |= q << (4 * pair + 16 * e);
                            }
                        }
                        words[Int4Packed::word_index(k, nb, kb, lane, j)] = word;
                    }
                }
            }
        }
        let groups = self.n_groups();
        let mut scales = vec![0u16; groups * n];
        let mut zeros = vec![0u16; groups * n];
        for g in 0..groups {
            for col in 0..n {
                let (nb, j, gid) = (col / 32, (col % 32) / 8, col % 8);
                let at = ((g * nb_count + nb) * 8 + gid) * 4 + j;
                scales[at] = half::f16::from_f32(self.scales[g * n + col]).to_bits();
                zeros[at] = half::f16::from_f32(1024.0 + self.zeros[g * n + col] as f32).to_bits();
            }
        }
        Ok(Int4Packed { k, n, group_size: self.group_size, words, scales, zeros, perm })
    }
}

impl Int4Packed {
    /// Where the word of tile `j` of `lane` for column block `nb` and row block `kb` is.
    pub fn word_index(k: usize, nb: usize, kb: usize, lane: usize, j: usize) -> usize {
        ((nb * (k / 32) + kb) * 32 + lane) * 4 + j
    }

    /// The weight the kernel decodes for sorted row `kp` and column `n`, computed the way
    /// the kernel does (f16 subtract, f16 multiply): what the kernel tests compare against.
    pub fn weight(&self, kp: usize, n: usize) -> f32 {
        let (nb, j, gid) = (n / 32, (n % 32) / 8, n % 8);
        let (kb, r) = (kp / 32, kp % 32);
        let (sub, r16) = (r / 16, r % 16);
        let (hi, r8) = (r16 / 8, r16 % 8);
        let (tig, e) = (r8 / 2, r8 % 2);
        let word = self.words[Self::word_index(self.k, nb, kb, gid * 4 + tig, j)];
        let q = (word >> (4 * (sub * 2 + hi) + 16 * e)) & 0xF;
        let g = kp / self.group_size;
        let at = ((g * (self.n / 32) + nb) * 8 + gid) * 4 + j;
        let f = |bits: u16| half::f16::from_bits(bits);
        let diff = half::f16::from_f32(1024.0 + q as f32) - f(self.zeros[at]);
        (diff * f(self.scales[at])).to_f32()
    }

    /// The checkpoint row of sorted row `kp`.
    pub fn row(&self, kp: usize) -> usize {
        self.perm.as_ref().map_or(kp, |p| p[kp] as usize)
    }

    /// Concatenates layers that share their input (Q, K and V; gate and up) along the
    /// outputs: possible when they have the same inputs, group size and row order.
    pub fn concat(parts: &[Int4Packed]) -> Option<Int4Packed> {
        let first = parts.first()?;
        if parts.iter().any(|p| p.k != first.k || p.group_size != first.group_size || p.perm != first.perm) {
            return None;
        }
        let n = parts.iter().map(|p| p.n).sum();
        let groups = first.k / first.group_size;
        // Words are column-block major, so the parts follow each other.
        let words = parts.iter().flat_map(|p| p.words.iter().copied()).collect();
        // Scales and zeros are group major: interleave the parts group by group.
        let interleave = |get: fn(&Int4Packed) -> &Vec<u16>| {
            let mut out = Vec::with_capacity(groups * n);
            for g in 0..groups {
                for p in parts {
                    out.extend_from_slice(&get(p)[g * p.n..(g + 1) * p.n]);
                }
            }
            out
        };
        Some(Int4Packed {
            k: first.k,
            n,
            group_size: first.group_size,
            words,
            scales: interleave(|p| &p.scales),
            zeros: interleave(|p| &p.zeros),
            perm: first.perm.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator for test data.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
    }

    fn config(bits: u32, group: i64, sym: bool, format: &str) -> GptqConfig {
        GptqConfig::from_json(&format!(r#"{{"bits":{bits},"group_size":{group},"sym":{sym},"desc_act":false,"checkpoint_format":"{format}"}}"#)).unwrap()
    }

    /// Packs values the way checkpoints do (the writer's side, written here from the
    /// format description so the reader is checked against an independent encoder).
    fn pack_rows(values: &[u32], rows: usize, cols: usize, bits: u32) -> Vec<i32> {
        let per = (32 / bits) as usize;
        let mut out = vec![0u32; rows / per * cols];
        for r in 0..rows {
            for c in 0..cols {
                out[(r / per) * cols + c] |= values[r * cols + c] << (bits as usize * (r % per));
            }
        }
        out.into_iter().map(|w| w as i32).collect()
    }

    fn pack_cols(values: &[u32], rows: usize, cols: usize, bits: u32) -> Vec<i32> {
        let per = (32 / bits) as usize;
        let mut out = vec![0u32; rows * cols / per];
        for r in 0..rows {
            for c in 0..cols {
                out[r * (cols / per) + c / per] |= values[r * cols + c] << (bits as usize * (c % per));
            }
        }
        out.into_iter().map(|w| w as i32).collect()
    }

    struct Layer {
        q: Vec<u32>,
        z: Vec<u32>,
        s: Vec<f32>,
        g_idx: Vec<i32>,
    }

    /// A random layer; with `act_order`, rows are assigned to groups through a permutation.
    fn random_layer(k: usize, n: usize, bits: u32, gs: usize, act_order: bool, seed: u64) -> Layer {
        let mut r = Lcg(seed);
        let max = 1 << bits;
        let groups = k / gs;
        let q = (0..k * n).map(|_| r.next() % max).collect();
        let z = (0..groups * n).map(|_| r.next() % (max - 1)).collect();
        let s = (0..groups * n).map(|_| 0.001 + (r.next() % 1000) as f32 * 1e-5).collect();
        let mut order: Vec<usize> = (0..k).collect();
        if act_order {
            for i in (1..k).rev() {
                order.swap(i, r.next() as usize % (i + 1));
            }
        }
        let mut g_idx = vec![0i32; k];
        for (pos, &row) in order.iter().enumerate() {
            g_idx[row] = (pos / gs) as i32;
        }
        Layer { q, z, s, g_idx }
    }

    fn decode(l: &Layer, k: usize, n: usize, cfg: &GptqConfig, stored_zero_offset: u32) -> (QuantLinear, Vec<String>) {
        let stored: Vec<u32> = l.z.iter().map(|z| z - stored_zero_offset).collect();
        let qweight = pack_rows(&l.q, k, n, cfg.bits);
        let qzeros = pack_cols(&stored, l.z.len() / n, n, cfg.bits);
        let t = PackedTensors { qweight: &qweight, qzeros: &qzeros, scales: &l.s, g_idx: Some(&l.g_idx) };
        let mut warnings = Vec::new();
        let q = QuantLinear::from_packed(&t, k, n, cfg, "layer", &mut warnings).unwrap();
        (q, warnings)
    }

    #[test]
    fn unpacking_gives_back_the_values_written_for_4_and_8_bits() {
        for (bits, gs) in [(4, 32), (4, 64), (8, 32), (4, 128)] {
            let (k, n) = (128, 64);
            let l = random_layer(k, n, bits, gs, false, bits as u64 * 7 + gs as u64);
            let cfg = config(bits, gs as i64, false, "gptq_v2");
            let (d, _) = decode(&l, k, n, &cfg, 0);
            assert_eq!(d.q, l.q.iter().map(|&v| v as u8).collect::<Vec<_>>(), "{bits} bits");
            assert_eq!(d.zeros, l.z.iter().map(|&v| v as i32).collect::<Vec<_>>());
            for (kk, nn) in [(0, 0), (5, 17), (127, 63), (64, 31)] {
                let g = (kk / gs) * n + nn;
                let want = l.s[g] * (l.q[kk * n + nn] as f32 - l.z[g] as f32);
                assert_eq!(d.weight(kk, nn), want);
            }
        }
    }

    #[test]
    fn v1_zero_points_are_stored_minus_one() {
        let (k, n) = (64, 32);
        let l = random_layer(k, n, 4, 32, false, 3);
        // The same true zeros, stored the v1 way, decode to the same layer.
        let (v2, _) = decode(&l, k, n, &config(4, 32, false, "gptq_v2"), 0);
        let mut l1 = random_layer(k, n, 4, 32, false, 3);
        l1.z.iter_mut().for_each(|z| *z += 1);
        let (v1, _) = decode(&l1, k, n, &config(4, 32, false, "gptq"), 1);
        assert_eq!(v1.zeros, v2.zeros.iter().map(|z| z + 1).collect::<Vec<_>>());
        assert_eq!(v1.zeros, l1.z.iter().map(|&z| z as i32).collect::<Vec<_>>());
    }

    #[test]
    fn mislabelled_symmetric_zero_points_are_read_as_the_data_says_with_a_warning() {
        let (k, n) = (64, 32);
        let mut l = random_layer(k, n, 4, 32, false, 9);
        l.z.iter_mut().for_each(|z| *z = 8);
        // Stored 8 everywhere (v2 data) but labelled v1.
        let (d, warnings) = decode(&l, k, n, &config(4, 32, true, "gptq"), 0);
        assert!(d.zeros.iter().all(|&z| z == 8), "read as v2");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("V2"), "{}", warnings[0]);
        // Stored 7 everywhere and labelled v1: true zero 8, no warning.
        let (d, warnings) = decode(&l, k, n, &config(4, 32, true, "gptq"), 1);
        assert!(d.zeros.iter().all(|&z| z == 8));
        assert!(warnings.is_empty());
    }

    #[test]
    fn act_order_is_a_row_permutation_that_makes_groups_contiguous() {
        let (k, n, gs) = (128, 32, 32);
        let l = random_layer(k, n, 4, gs, true, 11);
        let (d, _) = decode(&l, k, n, &config(4, gs as i64, false, "gptq_v2"), 0);
        let perm = d.act_order_permutation().unwrap().expect("rows out of order");
        for (kp, &row) in perm.iter().enumerate() {
            assert_eq!(d.g_idx[row as usize] as usize, kp / gs);
        }
        let mut sorted = perm.clone();
        sorted.sort();
        assert_eq!(sorted, (0..k as u32).collect::<Vec<_>>());
        // In-order groups need no permutation; a lopsided grouping is refused.
        let plain = random_layer(k, n, 4, gs, false, 11);
        let (d2, _) = decode(&plain, k, n, &config(4, gs as i64, false, "gptq_v2"), 0);
        assert_eq!(d2.act_order_permutation().unwrap(), None);
        let mut bad = d2.clone();
        bad.g_idx[0] = 1;
        assert!(bad.act_order_permutation().unwrap_err().message.contains("group_size"));
    }

    #[test]
    fn the_kernel_layout_decodes_to_the_checkpoint_weights() {
        for (k, n, gs, act) in [(64, 32, 32, false), (128, 96, 64, true), (576, 64, 64, true), (96, 32, 96, false)] {
            let l = random_layer(k, n, 4, gs, act, (k + n) as u64);
            let (d, _) = decode(&l, k, n, &config(4, gs as i64, false, "gptq"), 1);
            let p = d.repack_int4().unwrap();
            assert_eq!(p.perm.is_some(), act);
            for kp in 0..k {
                for col in 0..n {
                    let want = d.weight(p.row(kp), col);
                    let got = p.weight(kp, col);
                    // f16 scale and f16 product: one f16 rounding of each.
                    assert!((got - want).abs() <= want.abs() * 2e-3 + 1e-7, "k' {kp} n {col}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn layers_with_one_input_concatenate_along_the_outputs() {
        let (k, gs) = (64, 32);
        let parts: Vec<QuantLinear> = [64, 32, 96]
            .iter()
            .enumerate()
            .map(|(i, &n)| decode(&random_layer(k, n, 4, gs, false, i as u64), k, n, &config(4, 32, false, "gptq"), 1).0)
            .collect();
        let packed: Vec<Int4Packed> = parts.iter().map(|p| p.repack_int4().unwrap()).collect();
        let all = Int4Packed::concat(&packed).unwrap();
        assert_eq!(all.n, 192);
        let mut offset = 0;
        for (part, p) in parts.iter().zip(&packed) {
            for kp in 0..k {
                for col in 0..part.n {
                    assert_eq!(all.weight(kp, offset + col), p.weight(kp, col));
                }
            }
            offset += part.n;
        }
        // Different row orders cannot share one matrix.
        let other = decode(&random_layer(k, 32, 4, gs, true, 5), k, 32, &config(4, 32, false, "gptq"), 1).0;
        assert!(Int4Packed::concat(&[packed[0].clone(), other.repack_int4().unwrap()]).is_none());
    }

    #[test]
    fn bad_tensors_and_configs_are_refused_by_name() {
        let (k, n) = (64, 32);
        let l = random_layer(k, n, 4, 32, false, 1);
        let cfg = config(4, 32, false, "gptq");
        let qweight = pack_rows(&l.q, k, n, 4);
        let qzeros = pack_cols(&l.z, 2, n, 4);
        let short = &qweight[..qweight.len() - 1];
        let t = PackedTensors { qweight: short, qzeros: &qzeros, scales: &l.s, g_idx: None };
        let e = QuantLinear::from_packed(&t, k, n, &cfg, "model.layers.0.mlp.up_proj", &mut vec![]).unwrap_err();
        assert!(e.message.contains("up_proj.qweight"), "{}", e.message);
        let g_idx = vec![5i32; k];
        let t = PackedTensors { qweight: &qweight, qzeros: &qzeros, scales: &l.s, g_idx: Some(&g_idx) };
        let e = QuantLinear::from_packed(&t, k, n, &cfg, "x", &mut vec![]).unwrap_err();
        assert!(e.message.contains("group 5"), "{}", e.message);
        let t = PackedTensors { qweight: &qweight, qzeros: &qzeros, scales: &l.s, g_idx: None };
        let e = QuantLinear::from_packed(&t, 48, n, &cfg, "x", &mut vec![]).unwrap_err();
        assert!(e.message.contains("groups of 32"), "{}", e.message);
        // Shapes the int4 kernel does not take are refused when repacking, not decoding.
        let g48 = GptqConfig::from_json(r#"{"bits":4,"group_size":48}"#).unwrap();
        let l48 = random_layer(96, 32, 4, 48, false, 2);
        let (d, _) = decode(&l48, 96, 32, &g48, 0);
        let e = d.repack_int4().unwrap_err();
        assert_eq!(e.status, Status::UnsupportedModel);
        assert!(e.message.contains("groups of 48"), "{}", e.message);
    }
}
