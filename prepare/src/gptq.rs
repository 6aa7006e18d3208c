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
//! at each group's first column from the error-updated weights, spanning the group's range
//! or, with `clip_search`, the narrowed range with the smallest Hessian-weighted rounding
//! error; scales are rounded to f16 before use, since f16 is what the file stores. With
//! `refit_scales`, once every code is chosen, each row's group scales are fitted again by
//! least squares on the layer's output error (codes and zero points kept).

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
    /// Choose each group's range by search: the range narrowed step by step (clipping the
    /// outermost values) that gives the smallest rounding error, each column's error
    /// weighted by its Hessian diagonal, instead of the group's minimum and maximum.
    pub clip_search: bool,
    /// After the columns are quantized, fit each row's group scales again by least squares
    /// on the layer's output error `(W − Ŵ) H (W − Ŵ)ᵀ`, codes and zero points kept.
    pub refit_scales: bool,
    /// Aim each layer at the unquantized model's outputs: the weights quantized are those
    /// that best map the inputs the quantized layers before give to the outputs the
    /// unquantized model has ([`corrected_target`]), so that each layer makes up for the
    /// error it receives as well as its own. Used by whole-model quantization.
    pub correct_upstream: bool,
}

impl Default for GptqParams {
    fn default() -> Self {
        GptqParams {
            bits: 4,
            group_size: 64,
            sym: false,
            act_order: false,
            damp_percent: 0.01,
            block_size: 128,
            clip_search: false,
            refit_scales: false,
            correct_upstream: false,
        }
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
    let (lo, hi) = values.fold((0f64, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    grid_of_range(lo, hi, bits, sym)
}

/// Scale and zero point of the grid spanning `lo..hi` (which hold 0).
fn grid_of_range(mut lo: f64, mut hi: f64, bits: u32, sym: bool) -> (f32, u8) {
    let maxq = f64::from((1u32 << bits) - 1);
    if sym {
        hi = hi.max(-lo);
        lo = -hi;
    }
    if hi - lo <= 0.0 {
        lo = -1.0;
        hi = 1.0;
    }
    let scale = to_f16_scale((hi - lo) / maxq);
    if sym {
        return (scale, ((maxq as u32 + 1) / 2) as u8);
    }
    let zero = (-lo / f64::from(scale)).round().clamp(0.0, maxq);
    if zero >= 1.0 {
        return (scale, zero as u8);
    }
    // All values >= 0: zero point 1 (v1 files cannot store 0), the grid stretched to fit.
    (to_f16_scale(hi / (maxq - 1.0)), 1)
}

/// A scale as the file stores it: rounded to f16, at least f16's smallest step.
fn to_f16_scale(s: f64) -> f32 {
    half::f16::from_f64(s.max(1e-7)).to_f32().max(f32::from(half::f16::from_bits(1)))
}

/// Steps of the clipping search: the range is tried at 100%, 99%, ... 81% of its width.
const CLIP_STEPS: usize = 20;

/// The grid of one row of one group whose weighted rounding error `Σ weight · (x − x̂)²`
/// is smallest among the group's range narrowed by 0-19% (both ends together).
fn searched_grid(values: &[f64], weights: &[f64], bits: u32, sym: bool) -> (f32, u8) {
    let (lo, hi) = values.iter().fold((0f64, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let error = |(s, z): (f32, u8)| -> f64 {
        values.iter().zip(weights).map(|(&x, &w)| w * (x - f64::from(s) * (f64::from(code(x, s, z, bits)) - f64::from(z))).powi(2)).sum()
    };
    let mut best = grid_of_range(lo, hi, bits, sym);
    let mut best_error = error(best);
    for step in 1..CLIP_STEPS {
        let shrink = 1.0 - step as f64 / 100.0;
        let candidate = grid_of_range(lo * shrink, hi * shrink, bits, sym);
        let e = error(candidate);
        if e < best_error {
            (best, best_error) = (candidate, e);
        }
    }
    best
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

/// `then` of the inverse of `H + λI`, with the damping `λ` starting at `damp_percent` of
/// the mean diagonal of `H` and raised tenfold while the Cholesky factorization or `then`
/// fails; the result and the `λ` it took.
fn damped_inverse<T>(h: &[f64], k: usize, damp_percent: f64, then: impl Fn(Vec<f64>) -> Option<T>) -> Result<(T, f64)> {
    let mean_diag = (0..k).map(|j| h[j * k + j]).sum::<f64>() / k as f64;
    let mut damp = damp_percent.max(1e-6) * mean_diag.max(1e-12);
    loop {
        let mut damped = h.to_vec();
        for j in 0..k {
            damped[j * k + j] += damp;
        }
        if let Some(result) = cholesky(&damped, k).and_then(|l| then(inverse_from_cholesky(&l, k))) {
            return Ok((result, damp));
        }
        damp *= 10.0;
        if damp > 1e6 * mean_diag.max(1e-12) {
            return Err(Error::new(Status::Internal, "the Hessian stays singular however much it is damped"));
        }
    }
}

/// The correction `(C + λI) (H + λI)⁻¹` (`[k][k]`) of every layer that reads the same
/// inputs, for [`corrected_target`]: `H = 2 XᵀX / t` of the inputs `X` a quantized model
/// gives the layer, `C = 2 X₀ᵀX / t` with the unquantized model's inputs `X₀` (rows: the
/// same tokens), and `λ` `damp_percent` of the mean diagonal of `H`, raised tenfold while
/// `H + λI` does not factor. `λ` pulls the target towards the original weights where the
/// calibration says little.
pub fn upstream_correction(h: &[f64], cross: &[f64], k: usize, damp_percent: f64) -> Result<Vec<f64>> {
    if h.len() != k * k || cross.len() != k * k {
        return Err(Error::new(Status::InvalidArgument, format!("Hessian of {} values and cross term of {} for k = {k}", h.len(), cross.len())));
    }
    let (inverse, damp) = damped_inverse(h, k, damp_percent, Some)?;
    let mut c = cross.to_vec();
    for j in 0..k {
        c[j * k + j] += damp;
    }
    let mut m = vec![0f64; k * k];
    // SAFETY: c, inverse and m are [k][k].
    unsafe {
        matrixmultiply::dgemm(k, k, k, 1.0, c.as_ptr(), k as isize, 1, inverse.as_ptr(), k as isize, 1, 0.0, m.as_mut_ptr(), k as isize, 1);
    }
    Ok(m)
}

/// The weights (`[n][k]`) whose outputs on the inputs `X` a quantized model gives this
/// layer come closest to the outputs `Y = X₀ Wᵀ` of the original weights `w` on the
/// unquantized model's inputs `X₀`: `W̃ = W (C + λI) (H + λI)⁻¹`, `correction` being
/// [`upstream_correction`]. For `λ = 0`, `‖X Ŵᵀ − Y‖²` is `t/2 · Σ_rows (Ŵ − W̃) H (Ŵ − W̃)ᵀ`
/// plus a constant, so GPTQ of `W̃` with `H` minimizes the error against the unquantized
/// model's outputs. With `X = X₀` it is `W` (up to rounding).
pub fn corrected_target(w: &[f32], n: usize, k: usize, correction: &[f64]) -> Result<Vec<f32>> {
    if w.len() != n * k || correction.len() != k * k {
        return Err(Error::new(Status::InvalidArgument, format!("weight of {} values and correction of {} for {n}x{k}", w.len(), correction.len())));
    }
    let wd: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
    let mut out = vec![0f64; n * k];
    // SAFETY: wd and out are [n][k], correction is [k][k].
    unsafe {
        matrixmultiply::dgemm(n, k, k, 1.0, wd.as_ptr(), k as isize, 1, correction.as_ptr(), k as isize, 1, 0.0, out.as_mut_ptr(), k as isize, 1);
    }
    Ok(out.into_iter().map(|v| v as f32).collect())
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
    let w_perm = wp.clone();
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
    let (lower, _) = damped_inverse(&hp, k, p.damp_percent, |inverse| cholesky(&inverse, k))?;
    // Upper factor U of H^-1 (H^-1 = U^T U) is the transpose of the lower one.
    let mut u = vec![0f64; k * k];
    for i in 0..k {
        for j in 0..=i {
            u[j * k + i] = lower[i * k + j];
        }
    }

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
                let cols = col..col + p.group_size;
                let weights: Vec<f64> = cols.clone().map(|c| hp[c * k + c]).collect();
                for r in 0..n {
                    let values = &wp[r * k + cols.start..r * k + cols.end];
                    let (s, z) = if p.clip_search { searched_grid(values, &weights, p.bits, p.sym) } else { grid(values.iter().copied(), p.bits, p.sym) };
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
    if p.refit_scales {
        refit_scales(&w_perm, &hp, n, k, p, &qp, &mut scales, &zeros);
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

/// Fits the group scales of each row again, codes and zero points kept: with
/// `a = q − zero`, row `r`'s quantized weights are `ŵ = Σ_g s_g · a_g` (`a_g`: `a` on group
/// `g`'s columns, 0 elsewhere), and the scales minimizing the output error
/// `(w − ŵ)ᵀ H (w − ŵ)` solve `M s = b` with `M[g][h] = a_gᵀ H a_h` and `b[g] = a_gᵀ H w`.
/// Everything is in the quantization's column order (groups are contiguous there); `w` is
/// the original weight, `h` the undamped Hessian. A row whose system is singular, or
/// where a fitted scale (in f16) is not finite and positive or is more than
/// [`REFIT_LIMIT`] times larger or smaller than the scale its codes were rounded with,
/// keeps its scales: the codes were chosen for those, and a fit that moves a scale so
/// far follows the calibration text more than the weights.
/// How far a refitted scale may move from the one its codes were rounded with (a factor).
const REFIT_LIMIT: f32 = 4.0;

#[allow(clippy::too_many_arguments)]
fn refit_scales(w: &[f64], h: &[f64], n: usize, k: usize, p: &GptqParams, q: &[u8], scales: &mut [f32], zeros: &[u8]) {
    let (gs, groups) = (p.group_size, k / p.group_size);
    let a: Vec<f64> = (0..n * k).map(|i| f64::from(q[i]) - f64::from(zeros[(i % k) / gs * n + i / k])).collect();
    let product = |x: &[f64], rows: usize, inner: usize, hrows: std::ops::Range<usize>, x_stride: usize, x_offset: usize| -> Vec<f64> {
        // [rows][inner] (a column window of x) times H[hrows][..k].
        let mut out = vec![0f64; rows * k];
        // SAFETY: x is read as [rows][inner] at x_offset with row stride x_stride, H's rows
        // hrows as [inner][k], out is [rows][k]; all in bounds.
        unsafe {
            matrixmultiply::dgemm(rows, inner, k, 1.0, x.as_ptr().add(x_offset), x_stride as isize, 1, h.as_ptr().add(hrows.start * k), k as isize, 1, 0.0, out.as_mut_ptr(), k as isize, 1);
        }
        out
    };
    // b[r][g] = a_gᵀ (H w_r); M[r][g1][g2] = Σ_{c∈g1} a_c (H a_g2)[c].
    let hw = product(w, n, k, 0..k, k, 0);
    let mut b = vec![0f64; n * groups];
    let mut m = vec![0f64; n * groups * groups];
    for g2 in 0..groups {
        let ha = product(&a, n, gs, g2 * gs..(g2 + 1) * gs, k, g2 * gs);
        for r in 0..n {
            for g1 in 0..groups {
                let cols = r * k + g1 * gs..r * k + (g1 + 1) * gs;
                m[(r * groups + g1) * groups + g2] = a[cols.clone()].iter().zip(&ha[cols]).map(|(x, y)| x * y).sum();
            }
        }
    }
    for r in 0..n {
        for g in 0..groups {
            let cols = r * k + g * gs..r * k + (g + 1) * gs;
            b[r * groups + g] = a[cols.clone()].iter().zip(&hw[cols]).map(|(x, y)| x * y).sum();
        }
        let mut mr = m[r * groups * groups..(r + 1) * groups * groups].to_vec();
        let ridge = 1e-9 * (0..groups).map(|g| mr[g * groups + g]).sum::<f64>().max(1e-30) / groups as f64;
        for g in 0..groups {
            if mr[g * groups + g] == 0.0 {
                // Every code of the group sits on its zero point: the scale does not matter.
                mr[g * groups + g] = 1.0;
                b[r * groups + g] = f64::from(scales[g * n + r]);
            }
            mr[g * groups + g] += ridge;
        }
        let Some(l) = cholesky(&mr, groups) else { continue };
        // L y = b, then Lᵀ s = y.
        let mut y = vec![0f64; groups];
        for i in 0..groups {
            y[i] = (b[r * groups + i] - (0..i).map(|j| l[i * groups + j] * y[j]).sum::<f64>()) / l[i * groups + i];
        }
        let mut fitted = vec![0f64; groups];
        for i in (0..groups).rev() {
            fitted[i] = (y[i] - (i + 1..groups).map(|j| l[j * groups + i] * fitted[j]).sum::<f64>()) / l[i * groups + i];
        }
        let fitted: Vec<f32> = fitted.into_iter().map(|s| if s.is_finite() && s > 0.0 { to_f16_scale(s) } else { f32::NAN }).collect();
        let near = |g: usize, s: f32| s.is_finite() && s <= REFIT_LIMIT * scales[g * n + r] && s * REFIT_LIMIT >= scales[g * n + r];
        if fitted.iter().enumerate().all(|(g, &s)| near(g, s)) {
            for (g, s) in fitted.into_iter().enumerate() {
                scales[g * n + r] = s;
            }
        }
    }
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
        cross(x, x, k)
    }

    /// `2 Aᵀ B / t` in plain f64 loops (row index from `a`).
    fn cross(a: &[f32], b: &[f32], k: usize) -> Vec<f64> {
        let t = a.len() / k;
        let mut c = vec![0f64; k * k];
        for (ra, rb) in a.chunks_exact(k).zip(b.chunks_exact(k)) {
            for i in 0..k {
                for j in 0..k {
                    c[i * k + j] += 2.0 * f64::from(ra[i]) * f64::from(rb[j]) / t as f64;
                }
            }
        }
        c
    }

    #[test]
    fn gptq_beats_round_to_nearest_on_the_layer_output() {
        let (n, k) = (64, 256);
        let (w, x) = layer_of(n, k, 1024, 7);
        let h = hessian(&x, k);
        for act_order in [false, true] {
            for sym in [false, true] {
                for (clip_search, refit_scales) in [(false, false), (true, true)] {
                    let p = GptqParams { act_order, sym, clip_search, refit_scales, ..GptqParams::default() };
                    let rtn_err = output_error(&w, &rtn(&w, n, k, &p).unwrap().dequantize(), &x, n, k);
                    let gptq_err = output_error(&w, &gptq(&w, n, k, &h, &p).unwrap().dequantize(), &x, n, k);
                    eprintln!("act_order {act_order}, sym {sym}, clip_search {clip_search}, refit_scales {refit_scales}: GPTQ/RTN output error {:.3}", gptq_err / rtn_err);
                    assert!(gptq_err < 0.5 * rtn_err, "act_order {act_order}, sym {sym}, clip_search {clip_search}: GPTQ {gptq_err:.4} vs RTN {rtn_err:.4}");
                }
            }
        }
    }

    #[test]
    fn refitting_the_scales_lowers_the_output_error() {
        let (n, k) = (48, 256);
        let (w, x) = layer_of(n, k, 1024, 13);
        let h = hessian(&x, k);
        for act_order in [false, true] {
            for clip_search in [false, true] {
                let p = GptqParams { act_order, clip_search, ..GptqParams::default() };
                let plain = gptq(&w, n, k, &h, &p).unwrap();
                let refit = gptq(&w, n, k, &h, &GptqParams { refit_scales: true, ..p }).unwrap();
                assert_eq!((&refit.q, &refit.zeros, &refit.g_idx), (&plain.q, &plain.zeros, &plain.g_idx), "only the scales move");
                assert!(refit.scales.iter().all(|&s| s > 0.0 && half::f16::from_f32(s).to_f32() == s), "scales stay positive f16 values");
                let before = output_error(&w, &plain.dequantize(), &x, n, k);
                let after = output_error(&w, &refit.dequantize(), &x, n, k);
                eprintln!("act_order {act_order}, clip_search {clip_search}: refit/plain output error {:.3}", after / before);
                assert!(after < 0.97 * before, "act_order {act_order}, clip_search {clip_search}: refit {after:.5} vs {before:.5}");
            }
        }
    }

    #[test]
    fn a_refit_that_moves_a_scale_more_than_the_limit_keeps_the_row_s_scales() {
        // One row of two groups of 4, every code one step above its zero point, H = I: the
        // fitted scale of a group is its weights' mean.
        let (n, k) = (1, 8);
        let p = GptqParams { group_size: 4, ..GptqParams::default() };
        let identity: Vec<f64> = (0..k * k).map(|i| if i % (k + 1) == 0 { 1.0 } else { 0.0 }).collect();
        let refit = |group_means: [f64; 2]| -> Vec<f32> {
            let w: Vec<f64> = (0..k).map(|c| group_means[c / 4]).collect();
            let mut scales = vec![1.0f32; 2];
            refit_scales(&w, &identity, n, k, &p, &[1; 8], &mut scales, &[0, 0]);
            scales
        };
        assert_eq!(refit([2.0, 3.0]), vec![2.0, 3.0], "within the limit: both scales refitted");
        assert_eq!(refit([2.0, 1.0 / 16.0]), vec![1.0, 1.0], "a scale 16x smaller: the row keeps its scales");
        assert_eq!(refit([2.0, 4.0 * REFIT_LIMIT as f64]), vec![1.0, 1.0], "a scale 4x the limit larger: the row keeps its scales");
        assert_eq!(refit([2.0, -1.0]), vec![1.0, 1.0], "a negative scale: the row keeps its scales");
    }

    #[test]
    fn the_corrected_target_makes_up_for_the_inputs_error() {
        let (n, k, t) = (32, 128, 1024);
        let (w, x0) = layer_of(n, k, t, 17);
        // The inputs as a quantized model before this layer gives them: a little off, mostly
        // in a systematic way (each column's gain, some of its neighbour), partly noise.
        let mut rng = Rng(99);
        let gain: Vec<f32> = (0..k).map(|_| 1.0 + 0.1 * rng.next()).collect();
        let x: Vec<f32> = (0..t * k).map(|i| x0[i] * gain[i % k] + 0.05 * x0[i - i % k + (i + 1) % k] + 0.01 * rng.next()).collect();
        let (h, c) = (hessian(&x, k), cross(&x0, &x, k));
        // Against the unquantized model's outputs X₀ Wᵀ, with the quantized model's inputs X.
        let error = |wq: &[f32]| -> f64 {
            let mut total = 0f64;
            for (r0, r) in x0.chunks_exact(k).zip(x.chunks_exact(k)) {
                for o in 0..n {
                    let d: f64 = (0..k).map(|i| f64::from(w[o * k + i]) * f64::from(r0[i]) - f64::from(wq[o * k + i]) * f64::from(r[i])).sum();
                    total += d * d;
                }
            }
            total
        };
        let p = GptqParams { act_order: true, ..GptqParams::default() };
        let target = corrected_target(&w, n, k, &upstream_correction(&h, &c, k, p.damp_percent).unwrap()).unwrap();
        assert!(error(&target) < 0.5 * error(&w), "unquantized: {} vs {}", error(&target), error(&w));
        let plain = error(&gptq(&w, n, k, &h, &p).unwrap().dequantize());
        let corrected = error(&gptq(&target, n, k, &h, &p).unwrap().dequantize());
        eprintln!("corrected/plain error against the unquantized outputs: {:.3}", corrected / plain);
        assert!(corrected < 0.8 * plain, "GPTQ of the corrected target {corrected:.4} vs of W {plain:.4}");
        // Without an input error the target is the weight itself (up to the damping's rounding).
        let same = corrected_target(&w, n, k, &upstream_correction(&hessian(&x0, k), &cross(&x0, &x0, k), k, p.damp_percent).unwrap()).unwrap();
        let worst = w.iter().zip(&same).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-4, "worst change {worst}");
        assert!(upstream_correction(&h, &c[1..], k, p.damp_percent).is_err());
        assert!(corrected_target(&w[1..], n, k, &upstream_correction(&h, &c, k, p.damp_percent).unwrap()).is_err());
    }

    #[test]
    fn the_clipping_search_trades_an_outlier_for_a_finer_grid() {
        // 63 small weights and one outlier that matters little: narrowing the range
        // clips the outlier a little and rounds the others on a finer grid.
        let mut values: Vec<f64> = (0..63).map(|i| ((i * 37) % 63) as f64 / 63.0 * 0.2 - 0.1).collect();
        values.push(0.5);
        let mut weights = vec![1.0; 64];
        weights[63] = 0.01;
        let error = |(s, z): (f32, u8)| -> f64 { values.iter().zip(&weights).map(|(&x, &w)| w * (x - f64::from(s) * (f64::from(code(x, s, z, 4)) - f64::from(z))).powi(2)).sum() };
        let spanning = grid(values.iter().copied(), 4, false);
        let searched = searched_grid(&values, &weights, 4, false);
        assert!(searched.0 < spanning.0, "a narrower range: scale {} vs {}", searched.0, spanning.0);
        assert!(error(searched) < error(spanning), "{} vs {}", error(searched), error(spanning));
        // With every weight equal and no outlier, the full range may still be the best.
        let even: Vec<f64> = (0..64).map(|i| i as f64 / 63.0 - 0.5).collect();
        let ones = vec![1.0; 64];
        let e = |g: (f32, u8)| -> f64 { even.iter().map(|&x| (x - f64::from(g.0) * (f64::from(code(x, g.0, g.1, 4)) - f64::from(g.1))).powi(2)).sum() };
        assert!(e(searched_grid(&even, &ones, 4, false)) <= e(grid(even.iter().copied(), 4, false)));
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
