//! GPTQ checkpoint descriptions: `quantize_config.json` (or `quant_config.json`, or the
//! `quantization_config` of `config.json`) as AutoGPTQ, GPTQModel and transformers write it.
//!
//! Only the fields that change how the weights are read are kept; unknown keys (GPTQModel's
//! `meta`, `pack_dtype`, ...) are ignored. A variant the engine cannot read is an error that
//! names the field and its value.

use crate::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Largest description file read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// How zero points are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeroFormat {
    /// `checkpoint_format: "gptq"` (v1, most files): the stored zero is the true zero minus one.
    V1,
    /// `checkpoint_format: "gptq_v2"`: the stored zero is the true zero.
    V2,
}

/// A checked GPTQ description.
#[derive(Debug, Clone, PartialEq)]
pub struct GptqConfig {
    /// Bits per weight: 4 or 8.
    pub bits: u32,
    /// Input rows per quantization group; `None` for one group per output column (`-1`).
    pub group_size: Option<u32>,
    /// Symmetric quantization (the zero point is the middle of the range).
    pub sym: bool,
    /// Act-order: groups follow `g_idx`, which need not be monotonic.
    pub desc_act: bool,
    /// Groups fixed before act-order reordering (`g_idx` stays monotonic).
    pub static_groups: bool,
    /// How the zero points are stored.
    pub zero_format: ZeroFormat,
    /// Damping used when the checkpoint was made (informational).
    pub damp_percent: Option<f64>,
}

/// The fields as written; everything optional so that each check can name what is wrong.
#[derive(Debug, Deserialize, Serialize, Default)]
struct RawConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quant_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bits: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sym: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desc_act: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    static_groups: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkpoint_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_marlin_format: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    damp_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lm_head: Option<bool>,
}

fn unsupported(field: &str, value: impl std::fmt::Display, why: &str) -> Error {
    Error::new(Status::UnsupportedModel, format!("GPTQ config: {field} = {value} is not supported ({why})"))
}

impl GptqConfig {
    /// Parses and checks a description (the text of `quantize_config.json`, or of the
    /// `quantization_config` object).
    pub fn from_json(text: &str) -> Result<GptqConfig> {
        let raw: RawConfig = serde_json::from_str(text)
            .map_err(|e| Error::new(Status::InvalidModel, format!("GPTQ config is not valid JSON of the expected shape: {e}")))?;
        if let Some(m) = &raw.quant_method {
            if m != "gptq" {
                return Err(unsupported("quant_method", format!("'{m}'"), "only 'gptq' checkpoints are read"));
            }
        }
        let bits = raw.bits.ok_or_else(|| Error::new(Status::InvalidModel, "GPTQ config has no 'bits'"))?;
        if bits != 4 && bits != 8 {
            return Err(unsupported("bits", bits, "4 or 8"));
        }
        let group_size = match raw.group_size.unwrap_or(-1) {
            -1 => None,
            g if (1..=1 << 20).contains(&g) => Some(g as u32),
            g => return Err(unsupported("group_size", g, "-1 or a positive number of rows")),
        };
        if raw.lm_head == Some(true) {
            return Err(unsupported("lm_head", true, "a quantized output layer; it must stay f16"));
        }
        if raw.is_marlin_format == Some(true) {
            return Err(unsupported("is_marlin_format", true, "Marlin-repacked weights; use the plain GPTQ checkpoint"));
        }
        let zero_format = match raw.checkpoint_format.as_deref() {
            None | Some("gptq") => ZeroFormat::V1,
            Some("gptq_v2") => ZeroFormat::V2,
            Some(other) => return Err(unsupported("checkpoint_format", format!("'{other}'"), "'gptq' or 'gptq_v2'")),
        };
        if let Some(d) = raw.damp_percent {
            if !d.is_finite() || d < 0.0 {
                return Err(Error::new(Status::InvalidModel, format!("GPTQ config: damp_percent = {d} is not a fraction")));
            }
        }
        Ok(GptqConfig {
            bits: bits as u32,
            group_size,
            sym: raw.sym.unwrap_or(true),
            desc_act: raw.desc_act.unwrap_or(false),
            static_groups: raw.static_groups.unwrap_or(false),
            zero_format,
            damp_percent: raw.damp_percent,
        })
    }

    /// The description as `quantize_config.json` text (what GPTQModel writes, less its extras).
    pub fn to_json(&self) -> String {
        let raw = RawConfig {
            quant_method: Some("gptq".into()),
            bits: Some(i64::from(self.bits)),
            group_size: Some(self.group_size.map_or(-1, i64::from)),
            sym: Some(self.sym),
            desc_act: Some(self.desc_act),
            static_groups: Some(self.static_groups),
            checkpoint_format: Some(match self.zero_format {
                ZeroFormat::V1 => "gptq".into(),
                ZeroFormat::V2 => "gptq_v2".into(),
            }),
            is_marlin_format: None,
            damp_percent: self.damp_percent,
            lm_head: None,
        };
        serde_json::to_string_pretty(&raw).unwrap_or_default()
    }

    /// Finds and reads the description of the checkpoint in `dir`: `quantize_config.json`,
    /// then `quant_config.json`, then `config.json`'s `quantization_config`. `Ok(None)` when
    /// the directory has none of them (not a GPTQ checkpoint).
    pub fn find(dir: &Path) -> Result<Option<(PathBuf, GptqConfig)>> {
        let read = |path: &Path| -> Result<String> {
            let size = std::fs::metadata(path).map_err(|e| Error::new(Status::Io, format!("{}: {e}", path.display())))?.len();
            if size > MAX_CONFIG_BYTES {
                return Err(Error::new(Status::InvalidModel, format!("{} is {size} bytes, over the limit of {MAX_CONFIG_BYTES}", path.display())));
            }
            std::fs::read_to_string(path).map_err(|e| Error::new(Status::Io, format!("{}: {e}", path.display())))
        };
        let named = |path: &Path, e: Error| Error::new(e.status, format!("{}: {}", path.display(), e.message));
        for name in ["quantize_config.json", "quant_config.json"] {
            let path = dir.join(name);
            if path.is_file() {
                let config = GptqConfig::from_json(&read(&path)?).map_err(|e| named(&path, e))?;
                return Ok(Some((path, config)));
            }
        }
        let path = dir.join("config.json");
        if !path.is_file() {
            return Ok(None);
        }
        let config: serde_json::Value = serde_json::from_str(&read(&path)?)
            .map_err(|e| Error::new(Status::InvalidModel, format!("{}: not valid JSON: {e}", path.display())))?;
        match config.get("quantization_config") {
            Some(q) if q.get("quant_method").and_then(|m| m.as_str()) == Some("gptq") => {
                let config = GptqConfig::from_json(&q.to_string()).map_err(|e| named(&path, e))?;
                Ok(Some((path, config)))
            }
            _ => Ok(None),
        }
    }

    /// Checks that a layer of `k` inputs and `n` outputs can be stored with this description:
    /// whole groups along K, whole packed 32-bit words along K and N.
    pub fn check_shape(&self, layer: &str, k: usize, n: usize) -> Result<()> {
        let per_word = (32 / self.bits) as usize;
        let bad = |m: String| Err(Error::new(Status::InvalidModel, format!("GPTQ layer {layer} ({k} inputs, {n} outputs): {m}")));
        if k == 0 || n == 0 {
            return bad("empty".into());
        }
        if k % per_word != 0 || n % per_word != 0 {
            return bad(format!("inputs and outputs must be multiples of {per_word} to pack {}-bit values", self.bits));
        }
        if let Some(g) = self.group_size {
            if k % g as usize != 0 {
                return bad(format!("{k} inputs are not a whole number of groups of {g}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPTQMODEL: &str = r#"{
        "bits": 4, "group_size": 128, "desc_act": true, "sym": true, "lm_head": false,
        "quant_method": "gptq", "checkpoint_format": "gptq", "pack_dtype": "int32",
        "meta": {"quantizer": ["gptqmodel:2.2.0"], "damp_percent": 0.05}, "damp_percent": 0.01,
        "static_groups": false, "true_sequential": true
    }"#;

    #[test]
    fn reads_gptqmodel_and_autogptq_files_ignoring_unknown_keys() {
        let c = GptqConfig::from_json(GPTQMODEL).unwrap();
        assert_eq!((c.bits, c.group_size, c.sym, c.desc_act, c.zero_format), (4, Some(128), true, true, ZeroFormat::V1));
        let c = GptqConfig::from_json(r#"{"bits": 8, "group_size": -1, "sym": false, "checkpoint_format": "gptq_v2"}"#).unwrap();
        assert_eq!((c.bits, c.group_size, c.sym, c.desc_act, c.zero_format), (8, None, false, false, ZeroFormat::V2));
    }

    #[test]
    fn unsupported_variants_name_the_field_and_value() {
        for (text, field, value) in [
            (r#"{"bits": 3}"#, "bits", "3"),
            (r#"{"bits": 4, "quant_method": "awq"}"#, "quant_method", "'awq'"),
            (r#"{"bits": 4, "checkpoint_format": "marlin"}"#, "checkpoint_format", "'marlin'"),
            (r#"{"bits": 4, "group_size": 0}"#, "group_size", "0"),
            (r#"{"bits": 4, "is_marlin_format": true}"#, "is_marlin_format", "true"),
            (r#"{"bits": 4, "lm_head": true}"#, "lm_head", "true"),
        ] {
            let e = GptqConfig::from_json(text).unwrap_err();
            assert_eq!(e.status, Status::UnsupportedModel, "{text}");
            assert!(e.message.contains(&format!("{field} = {value}")), "{text}: {}", e.message);
        }
        assert_eq!(GptqConfig::from_json("{}").unwrap_err().status, Status::InvalidModel);
        assert_eq!(GptqConfig::from_json(r#"{"bits": "4"}"#).unwrap_err().status, Status::InvalidModel);
    }

    #[test]
    fn the_written_form_reads_back_the_same() {
        let c = GptqConfig::from_json(GPTQMODEL).unwrap();
        assert_eq!(GptqConfig::from_json(&c.to_json()).unwrap(), c);
        // A long decimal (found by fuzzing) reads back to the same f64 after being written.
        let long = GptqConfig::from_json(r#"{"bits": 4, "damp_percent": 0.111111111111111111191111111111111111111111111111100}"#).unwrap();
        assert_eq!(GptqConfig::from_json(&long.to_json()).unwrap(), long);
    }

    #[test]
    fn shapes_must_hold_whole_groups_and_words() {
        let c = GptqConfig::from_json(r#"{"bits": 4, "group_size": 64}"#).unwrap();
        c.check_shape("q_proj", 576, 576).unwrap();
        assert!(c.check_shape("q_proj", 600, 576).unwrap_err().message.contains("groups of 64"));
        assert!(c.check_shape("k_proj", 576, 196).unwrap_err().message.contains("multiples of 8"));
        let g128 = GptqConfig::from_json(r#"{"bits": 4, "group_size": 128}"#).unwrap();
        assert!(g128.check_shape("q_proj", 576, 576).is_err(), "576 is not a multiple of 128");
    }

    #[test]
    fn finds_the_description_in_each_place() {
        let dir = std::env::temp_dir().join(format!("intent-gptq-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(GptqConfig::find(&dir).unwrap().is_none());
        std::fs::write(dir.join("config.json"), r#"{"model_type": "llama"}"#).unwrap();
        assert!(GptqConfig::find(&dir).unwrap().is_none(), "a plain model");
        std::fs::write(dir.join("config.json"), r#"{"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 32}}"#).unwrap();
        assert_eq!(GptqConfig::find(&dir).unwrap().unwrap().1.group_size, Some(32));
        std::fs::write(dir.join("quantize_config.json"), r#"{"bits": 2}"#).unwrap();
        let e = GptqConfig::find(&dir).unwrap_err();
        assert!(e.message.contains("quantize_config.json") && e.message.contains("bits = 2"), "{}", e.message);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
