//! GPTQ (Frantar et al., 2022) for one linear layer, and the AutoGPTQ / GPTQModel packing.
//!
//! Given a weight `W` (`[n][k]`: n outputs, k inputs, row-major as `nn.Linear.weight`) and
//! the Hessian `H = 2 X^T X / t` of the layer's calibration inputs, the columns are
//! quantized one at a time and each column's rounding error is pushed onto the columns not
//! yet quantized, weighted by the inverse Hessian, so that the layer's output `W X^T`
//! moves as little as possible. Steps: dead inputs (`H_ii = 0`) are zeroed; optional
//! act-order (columns by decreasing `H_ii`); damping `H += λI` with `λ = damp · mean(diag H)`
//! (raised tenfold while the Cholesky factorization fails); the upper Cholesky factor `U` of
//! `H^-1`; blocks of columns with the updates inside a block applied at once and the block's
//! errors pushed to later columns by one product. Group parameters (scale, zero) are found
//! at each group's first column from the error-updated weights; scales are rounded to f16
//! before use, since f16 is what the file stores.

use intent_core::{Error, Result, Status};

/// Settings of one quantization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GptqParams {
    /// Bits per weight: 4 or 8.
    pub bits: u32,
    /// Input columns per group (must divide k and `block_size`).
    pub group_size: usize,
    /// Symmetric grid (zero point in the middle) instead of a fitted zero point.
    pub sym: bool,
    /// Quantize columns by decreasing Hessian diagonal (the file's `g_idx` records the groups).
    pub act_order: bool,
    /// Damping as a fraction of the mean Hessian diagonal.
    pub damp_percent: f64,
    /// Columns updated together.
    pub block_size: usize,
}

impl Default for GptqParams {
    fn default() -> Self {
        GptqParams { bits: 4, group_size: 64, sym: false, act_order: false, damp_percent: 0.01, block_size: 128 }
    }
}

/// A quantized layer, unpacked: codes, per-group scales and zero points, and each input
/// column's group.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedLinear {
    /// Outputs.
    pub n: usize,
    /// Inputs.
    pub k: usize,
    /// Bits per code.
    pub bits: u32,
    /// Codes, `[n][k]`.
    pub q: Vec<u8>,
    /// Scales, `[groups][n]`, each exactly representable in f16.
    pub scales: Vec<f32>,
    /// True zero points (not the v1 file's zero minus one), `[groups][n]`.
    pub zeros: Vec<u8>,
    /// Group of each input column, `[k]`.
    pub g_idx: Vec<u32>,
}

impl QuantizedLinear {
    /// The weights the codes stand for, `[n][k]`: `scale · (q − zero)` of each column's group.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut w = vec![0f32; self.n * self.k];
        for r in 0..self.n {
            for c in 0..self.k {
                let g = self.g_idx[c] as usize * self.n + r;
                w[r * self.k + c] = self.scales[g] * (f32::from(self.q[r * self.k + c]) - f32::from(self.zeros[g]));
            }
        }
        w
    }

    /// Number of groups.
    pub fn n_groups(&self) -> usize {
        self.scales.len() / self.n.max(1)
    }
}

/// The four tensors of one layer as AutoGPTQ / GPTQModel store them (checkpoint format
/// "gptq", v1: zero points minus one).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedLinear {
    /// `[k / (32 / bits)][n]`, codes packed along k, lowest bits first.
    pub qweight: Vec<i32>,
    /// `[groups][n / (32 / bits)]`, zero points minus one, packed along n.
    pub qzeros: Vec<i32>,
    /// `[groups][n]`, f16 bits.
    pub scales: Vec<u16>,
    /// `[k]`.
    pub g_idx: Vec<i32>,
}

/// Packs a layer (n and k must be multiples of `32 / bits`; zero points at least 1).
pub fn pack(l: &QuantizedLinear) -> Result<PackedLinear> {
    let per = (32 / l.bits) as usize;
    let mask = (1u32 << l.bits) - 1;
    if l.n % per != 0 || l.k % per != 0 {
        return Err(Error::new(Status::InvalidArgument, format!("a {}x{} layer cannot be packed {per} codes to a word", l.n, l.k)));
    }
    if l.zeros.contains(&0) {
        return Err(Error::new(Status::Internal, "a zero point of 0 cannot be stored as v1 (zero - 1)"));
    }
    let mut qweight = vec![0i32; l.k / per * l.n];
    for c in 0..l.k {
        for r in 0..l.n {
            let code = u32::from(l.q[r * l.k + c]) & mask;
            qweight[(c / per) * l.n + r] |= (code << (l.bits as usize * (c % per))) as i32;
        }
    }
    let groups = l.n_groups();
    let mut qzeros = vec![0i32; groups * l.n / per];
    for g in 0..groups {
        for r in 0..l.n {
            let z = (u32::from(l.zeros[g * l.n + r]) - 1) & mask;
            qzeros[g * (l.n / per) + r / per] |= (z << (l.bits as usize * (r % per))) as i32;
        }
    }
    Ok(PackedLinear {
        qweight,
        qzeros,
        scales: l.scales.iter().map(|&s| half::f16::from_f32(s).to_bits()).collect(),
        g_idx: l.g_idx.iter().map(|&g| g as i32).collect(),
    })
}

/// Unpacks what [`pack`] wrote (v1 zero points), for checks.
pub fn unpack(p: &PackedLinear, n: usize, k: usize, bits: u32) -> QuantizedLinear {
    let per = (32 / bits) as usize;
    let mask = (1u32 << bits) - 1;
    let groups = p.scales.len() / n.max(1);
    let field = |word: i32, i: usize| ((word as u32 >> (bits as usize * i)) & mask) as u8;
    let mut q = vec![0u8; n * k];
    for c in 0..k {
        for r in 0..n {
            q[r * k + c] = field(p.qweight[(c / per) * n + r], c % per);
        }
    }
    let mut zeros = vec![0u8; groups * n];
    for g in 0..groups {
        for r in 0..n {
            zeros[g * n + r] = ((u32::from(field(p.qzeros[g * (n / per) + r / per], r % per)) + 1) & 0xff) as u8;
        }
    }
    QuantizedLinear {
        n,
        k,
        bits,
        q,
        scales: p.scales.iter().map(|&b| half::f16::from_bits(b).to_f32()).collect(),
        zeros,
        g_idx: p.g_idx.iter().map(|&g| g as u32).collect(),
    }
}

/// Scale and zero point of one row of one group, from its values.
fn grid(values: impl Iterator<Item = f64>, bits: u32, sym: bool) -> (f32, u8) {
    let maxq = f64::from((1u32 << bits) - 1);
    let (mut lo, mut hi) = values.fold((0f64, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if sym {
        hi = hi.max(-lo);
        lo = -hi;
    }
    if hi - lo <= 0.0 {
        lo = -1.0;
        hi = 1.0;
    }
    let to_f16 = |s: f64| half::f16::from_f64(s.max(1e-7)).to_f32().max(f32::from(half::f16::from_bits(1)));
    if sym {
        let scale = to_f16((hi - lo) / maxq);
        return (scale, ((maxq as u32 + 1) / 2) as u8);
    }
    let scale = to_f16((hi - lo) / maxq);
    let zero = (-lo / f64::from(scale)).round().clamp(0.0, maxq);
    if zero >= 1.0 {
        return (scale, zero as u8);
    }
    // All values >= 0: zero point 1 (v1 files cannot store 0), the grid stretched to fit.
    (to_f16(hi / (maxq - 1.0)), 1)
}

fn code(x: f64, scale: f32, zero: u8, bits: u32) -> u8 {
    let maxq = f64::from((1u32 << bits) - 1);
    ((x / f64::from(scale)).round() + f64::from(zero)).clamp(0.0, maxq) as u8
}

fn check(w: &[f32], n: usize, k: usize, p: &GptqParams) -> Result<()> {
    let bad = |m: String| Err(Error::new(Status::InvalidArgument, m));
    if p.bits != 4 && p.bits != 8 {
        return bad(format!("{} bits (4 or 8)", p.bits));
    }
    if w.len() != n * k || n == 0 || k == 0 {
        return bad(format!("weight of {} values for {n}x{k}", w.len()));
    }
    if p.group_size == 0 || k % p.group_size != 0 || p.block_size % p.group_size != 0 {
        return bad(format!("group size {} must divide k = {k} and the block size {}", p.group_size, p.block_size));
    }
    if !w.iter().all(|v| v.is_finite()) {
        return bad("the weight holds NaN or infinite values".into());
    }
    Ok(())
}

/// Round-to-nearest with the same grid (the baseline GPTQ must beat).
pub fn rtn(w: &[f32], n: usize, k: usize, p: &GptqParams) -> Result<QuantizedLinear> {
    check(w, n, k, p)?;
    let groups = k / p.group_size;
    let mut out = QuantizedLinear {
        n,
        k,
        bits: p.bits,
        q: vec![0; n * k],
        scales: vec![0.0; groups * n],
        zeros: vec![0; groups * n],
        g_idx: (0..k).map(|c| (c / p.group_size) as u32).collect(),
    };
    for g in 0..groups {
        for r in 0..n {
            let row = &w[r * k + g * p.group_size..r * k + (g + 1) * p.group_size];
            let (scale, zero) = grid(row.iter().map(|&v| f64::from(v)), p.bits, p.sym);
            out.scales[g * n + r] = scale;
            out.zeros[g * n + r] = zero;
            for (c, &v) in row.iter().enumerate() {
                out.q[r * k + g * p.group_size + c] = code(f64::from(v), scale, zero, p.bits);
            }
        }
    }
    Ok(out)
}

/// Lower Cholesky factor of a symmetric positive definite `[k][k]` matrix, or `None`.
fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; k * k];
    for i in 0..k {
        for j in 0..=i {
            let dot: f64 = l[i * k..i * k + j].iter().zip(&l[j * k..j * k + j]).map(|(a, b)| a * b).sum();
            let v = a[i * k + j] - dot;
            if i == j {
                if !(v > 0.0) || !v.is_finite() {
                    return None;
                }
                l[i * k + i] = v.sqrt();
            } else {
                l[i * k + j] = v / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Inverse of `L L^T` from the lower factor `L`. Loops run along rows only (each column
/// of `L^-1` is kept as a row), so large k stays cache-friendly.
fn inverse_from_cholesky(l: &[f64], k: usize) -> Vec<f64> {
    // Row c of `linv_t` is column c of L^-1: the solution of L y = e_c (y[i] = 0 for i < c).
    let mut linv_t = vec![0f64; k * k];
    for c in 0..k {
        let y = &mut linv_t[c * k..(c + 1) * k];
        y[c] = 1.0 / l[c * k + c];
        for i in c + 1..k {
            let s: f64 = l[i * k + c..i * k + i].iter().zip(&y[c..i]).map(|(a, b)| a * b).sum();
            y[i] = -s / l[i * k + i];
        }
    }
    // (L L^T)^-1 = L^-T L^-1: entry (i, j) is the dot product of columns i and j of L^-1.
    let mut inv = vec![0f64; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = linv_t[i * k + i..(i + 1) * k].iter().zip(&linv_t[j * k + i..(j + 1) * k]).map(|(a, b)| a * b).sum();
            inv[i * k + j] = s;
            inv[j * k + i] = s;
        }
    }
    inv
}

/// Quantizes `w` (`[n][k]`) with GPTQ, given the Hessian `h` (`[k][k]`) of its inputs.
pub fn gptq(w: &[f32], n: usize, k: usize, h: &[f64], p: &GptqParams) -> Result<QuantizedLinear> {
    check(w, n, k, p)?;
    if h.len() != k * k || !h.iter().all(|v| v.is_finite()) {
        return Err(Error::new(Status::InvalidArgument, format!("Hessian of {} values for k = {k}, or not finite", h.len())));
    }
    // Column order: as given, or by decreasing diagonal (act-order).
    let mut perm: Vec<usize> = (0..k).collect();
    if p.act_order {
        perm.sort_by(|&a, &b| h[b * k + b].total_cmp(&h[a * k + a]));
    }
    let mut wp = vec![0f64; n * k];
    for r in 0..n {
        for (j, &c) in perm.iter().enumerate() {
            wp[r * k + j] = f64::from(w[r * k + c]);
        }
    }
    let mut hp = vec![0f64; k * k];
    for (i, &a) in perm.iter().enumerate() {
        for (j, &b) in perm.iter().enumerate() {
            hp[i * k + j] = h[a * k + b];
        }
    }
    for j in 0..k {
        if hp[j * k + j] == 0.0 {
            hp[j * k + j] = 1.0;
            for r in 0..n {
                wp[r * k + j] = 0.0;
            }
        }
    }
    let mean_diag = (0..k).map(|j| hp[j * k + j]).sum::<f64>() / k as f64;
    let mut damp = p.damp_percent.max(1e-6) * mean_diag;
    let u = loop {
        let mut damped = hp.clone();
        for j in 0..k {
            damped[j * k + j] += damp;
        }
        let factor = cholesky(&damped, k).and_then(|l| {
            let inv = inverse_from_cholesky(&l, k);
            cholesky(&inv, k)
        });
        if let Some(lower) = factor {
            // Upper factor U of H^-1 (H^-1 = U^T U) is the transpose of the lower one.
            let mut u = vec![0f64; k * k];
            for i in 0..k {
                for j in 0..=i {
                    u[j * k + i] = lower[i * k + j];
                }
            }
            break u;
        }
        damp *= 10.0;
        if damp > 1e6 * mean_diag.max(1e-12) {
            return Err(Error::new(Status::Internal, "the Hessian stays singular however much it is damped"));
        }
    };

    let groups = k / p.group_size;
    let mut qp = vec![0u8; n * k];
    let mut scales = vec![0f32; groups * n];
    let mut zeros = vec![0u8; groups * n];
    let mut err = vec![0f64; n * p.block_size];
    for i1 in (0..k).step_by(p.block_size) {
        let i2 = (i1 + p.block_size).min(k);
        let count = i2 - i1;
        for i in 0..count {
            let col = i1 + i;
            let g = col / p.group_size;
            if col % p.group_size == 0 {
                for r in 0..n {
                    let (s, z) = grid(wp[r * k + col..r * k + col + p.group_size].iter().copied(), p.bits, p.sym);
                    scales[g * n + r] = s;
                    zeros[g * n + r] = z;
                }
            }
            let d = u[col * k + col];
            for r in 0..n {
                let (s, z) = (scales[g * n + r], zeros[g * n + r]);
                let x = wp[r * k + col];
                let qv = code(x, s, z, p.bits);
                qp[r * k + col] = qv;
                let e = (x - f64::from(s) * (f64::from(qv) - f64::from(z))) / d;
                err[r * p.block_size + i] = e;
                let urow = &u[col * k + col + 1..col * k + i2];
                for (wv, &uv) in wp[r * k + col + 1..r * k + i2].iter_mut().zip(urow) {
                    *wv -= e * uv;
                }
            }
        }
        // The block's errors onto every later column: W[:, i2..] -= E · U[i1..i2, i2..].
        if i2 < k {
            for r in 0..n {
                let row = &mut wp[r * k + i2..(r + 1) * k];
                for i in 0..count {
                    let e = err[r * p.block_size + i];
                    if e != 0.0 {
                        for (wv, &uv) in row.iter_mut().zip(&u[(i1 + i) * k + i2..(i1 + i + 1) * k]) {
                            *wv -= e * uv;
                        }
                    }
                }
            }
        }
    }
    // Back to the original column order; each column keeps the group it was quantized in.
    let mut q = vec![0u8; n * k];
    let mut g_idx = vec![0u32; k];
    for (j, &c) in perm.iter().enumerate() {
        g_idx[c] = (j / p.group_size) as u32;
        for r in 0..n {
            q[r * k + c] = qp[r * k + j];
        }
    }
    Ok(QuantizedLinear { n, k, bits: p.bits, q, scales, zeros, g_idx })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), uniform in [-1, 1).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    /// A layer and calibration inputs with correlated features, as real activations have.
    fn layer_of(n: usize, k: usize, t: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut rng = Rng(seed);
        let w: Vec<f32> = (0..n * k).map(|_| rng.next() * 0.1).collect();
        let factors = 8;
        let mix: Vec<f32> = (0..factors * k).map(|_| rng.next()).collect();
        let scale: Vec<f32> = (0..k).map(|c| if c % 17 == 0 { 6.0 } else { 1.0 }).collect();
        let mut x = vec![0f32; t * k];
        for row in 0..t {
            let z: Vec<f32> = (0..factors).map(|_| rng.next()).collect();
            for c in 0..k {
                let shared: f32 = (0..factors).map(|f| z[f] * mix[f * k + c]).sum();
                x[row * k + c] = (shared + 0.3 * rng.next()) * scale[c];
            }
        }
        (w, x)
    }

    /// Squared error of the layer's outputs `W X^T` with the quantized weights.
    fn output_error(w: &[f32], wq: &[f32], x: &[f32], n: usize, k: usize) -> f64 {
        let mut total = 0f64;
        for row in x.chunks_exact(k) {
            for r in 0..n {
                let d: f64 = (0..k).map(|c| f64::from(w[r * k + c] - wq[r * k + c]) * f64::from(row[c])).sum();
                total += d * d;
            }
        }
        total
    }

    /// `2 Xᵀ X / t` in plain f64 loops: the same on every machine, so the shared test
    /// vectors do not depend on which SIMD kernels the fast product picks.
    fn hessian(x: &[f32], k: usize) -> Vec<f64> {
        let t = x.len() / k;
        let mut h = vec![0f64; k * k];
        for row in x.chunks_exact(k) {
            for i in 0..k {
                for j in 0..k {
                    h[i * k + j] += 2.0 * f64::from(row[i]) * f64::from(row[j]) / t as f64;
                }
            }
        }
        h
    }

    #[test]
    fn gptq_beats_round_to_nearest_on_the_layer_output() {
        let (n, k) = (64, 256);
        let (w, x) = layer_of(n, k, 1024, 7);
        let h = hessian(&x, k);
        for act_order in [false, true] {
            for sym in [false, true] {
                let p = GptqParams { act_order, sym, ..GptqParams::default() };
                let rtn_err = output_error(&w, &rtn(&w, n, k, &p).unwrap().dequantize(), &x, n, k);
                let gptq_err = output_error(&w, &gptq(&w, n, k, &h, &p).unwrap().dequantize(), &x, n, k);
                eprintln!("act_order {act_order}, sym {sym}: GPTQ/RTN output error {:.3}", gptq_err / rtn_err);
                assert!(gptq_err < 0.5 * rtn_err, "act_order {act_order}, sym {sym}: GPTQ {gptq_err:.4} vs RTN {rtn_err:.4}");
            }
        }
    }

    #[test]
    fn act_order_records_each_columns_group() {
        let (n, k) = (16, 128);
        let (w, x) = layer_of(n, k, 256, 11);
        let h = hessian(&x, k);
        let l = gptq(&w, n, k, &h, &GptqParams { act_order: true, ..GptqParams::default() }).unwrap();
        let mut per_group = [0usize; 2];
        for &g in &l.g_idx {
            per_group[g as usize] += 1;
        }
        assert_eq!(per_group, [64, 64]);
        assert!(l.g_idx.windows(2).any(|p| p[0] > p[1]), "act-order groups are not in column order");
        // The column with the largest H_ii is quantized first, so it is in group 0.
        let top = (0..k).max_by(|&a, &b| h[a * k + a].total_cmp(&h[b * k + b])).unwrap();
        assert_eq!(l.g_idx[top], 0);
    }

    #[test]
    fn packing_round_trips_and_dequantizes_the_same() {
        let (n, k) = (32, 128);
        let (w, x) = layer_of(n, k, 256, 5);
        let h = hessian(&x, k);
        for (bits, act_order) in [(4, false), (4, true), (8, false)] {
            let l = gptq(&w, n, k, &h, &GptqParams { bits, act_order, ..GptqParams::default() }).unwrap();
            let packed = pack(&l).unwrap();
            assert_eq!(packed.qweight.len(), k / (32 / bits as usize) * n);
            let back = unpack(&packed, n, k, bits);
            assert_eq!(back, l, "{bits} bits");
        }
        // Zero points are never 0 (v1 files store zero - 1), even for all-positive groups.
        let positive: Vec<f32> = (0..n * k).map(|i| (i % 7) as f32 * 0.01).collect();
        let l = rtn(&positive, n, k, &GptqParams::default()).unwrap();
        assert!(!l.zeros.contains(&0));
        let deq = l.dequantize();
        let worst = positive.iter().zip(&deq).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 0.005, "all-positive groups keep their range: worst error {worst}");
    }

    #[test]
    fn dead_inputs_are_zeroed_and_bad_requests_refused() {
        let (n, k) = (8, 64);
        let (w, mut x) = layer_of(n, k, 128, 9);
        for row in x.chunks_exact_mut(k) {
            row[3] = 0.0;
        }
        let h = hessian(&x, k);
        let l = gptq(&w, n, k, &h, &GptqParams::default()).unwrap();
        let deq = l.dequantize();
        let g = l.g_idx[3] as usize;
        for r in 0..n {
            let z = l.zeros[g * n + r];
            assert_eq!(l.q[r * k + 3], z, "a dead input's weight is zero");
            assert_eq!(deq[r * k + 3], 0.0);
        }
        assert!(gptq(&w, n, k, &h, &GptqParams { group_size: 48, ..GptqParams::default() }).is_err());
        assert!(gptq(&w, n, k, &h[1..], &GptqParams::default()).is_err());
        assert!(rtn(&w, n, k, &GptqParams { bits: 3, ..GptqParams::default() }).is_err());
    }

    /// The shared test vectors of `training/tests/fixtures/gptq/`: for each variant, a
    /// checkpoint of two packed layers (`model.safetensors`, `quantize_config.json`) and
    /// the weights they stand for (`expected.<layer>.weight`, f32, as `dequantize` gives
    /// them). The Python reference dequantizer must decode the files to exactly these.
    /// Regenerate with `INTENT_UPDATE_TEST_VECTORS=1 cargo test -p intent-prepare gptq`.
    #[test]
    fn the_shared_test_vectors_are_current() {
        use crate::gptq_model::{config_of, layer_tensors};
        use crate::hf::{safetensors_bytes, RawTensor};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../training/tests/fixtures/gptq");
        let update = std::env::var_os("INTENT_UPDATE_TEST_VECTORS").is_some();
        let variants = [
            ("4bit-g32-asym", GptqParams { group_size: 32, ..GptqParams::default() }),
            ("4bit-g64-sym-act-order", GptqParams { sym: true, act_order: true, ..GptqParams::default() }),
            ("8bit-g64-asym", GptqParams { bits: 8, ..GptqParams::default() }),
        ];
        for (seed, (name, p)) in variants.into_iter().enumerate() {
            let mut tensors = Vec::new();
            for (layer, (n, k)) in [("model.layers.0.self_attn.q_proj", (32, 128)), ("model.layers.0.mlp.down_proj", (16, 192))] {
                let (w, x) = layer_of(n, k, 64, 100 + seed as u64);
                let l = gptq(&w, n, k, &hessian(&x, k), &p).unwrap();
                tensors.extend(layer_tensors(layer, &l).unwrap());
                tensors.push((format!("expected.{layer}.weight"), RawTensor::f32(&[n, k], &l.dequantize())));
            }
            let config = config_of(&p).to_json();
            let bytes = safetensors_bytes(&tensors).unwrap();
            let at = dir.join(name);
            if update {
                std::fs::create_dir_all(&at).unwrap();
                std::fs::write(at.join("model.safetensors"), &bytes).unwrap();
                std::fs::write(at.join("quantize_config.json"), &config).unwrap();
            }
            let stale = "stale; regenerate with INTENT_UPDATE_TEST_VECTORS=1 cargo test -p intent-prepare gptq";
            assert!(std::fs::read(at.join("model.safetensors")).ok() == Some(bytes), "{name}/model.safetensors is {stale}");
            assert!(std::fs::read_to_string(at.join("quantize_config.json")).ok() == Some(config), "{name}/quantize_config.json is {stale}");
        }
    }
}
