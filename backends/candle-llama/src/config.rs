//! The model directory: `config.json` (architecture and shapes), `tokenizer_config.json`
//! (chat template, special tokens) and the safetensors files that hold the weights.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Errors of this module name the file and the field.
pub type ConfigResult<T> = Result<T, String>;

/// RoPE frequency scaling of Llama 3 (`rope_scaling.rope_type = "llama3"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Llama3RopeScaling {
    /// Factor by which low frequencies are divided.
    pub factor: f64,
    /// Wavelength bound (in units of `original_max_position_embeddings / low_freq_factor`).
    pub low_freq_factor: f64,
    /// Wavelength bound (in units of `original_max_position_embeddings / high_freq_factor`).
    pub high_freq_factor: f64,
    /// The context length the frequencies were first trained for.
    pub original_max_position_embeddings: f64,
}

/// The shapes and constants of a Llama-family model, from its `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Number of transformer blocks.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention).
    pub num_key_value_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// Llama 3 RoPE scaling, when the model uses it.
    pub rope_scaling: Option<Llama3RopeScaling>,
    /// Context length the model was trained for.
    pub max_position_embeddings: usize,
    /// Whether the output layer is the token embedding.
    pub tie_word_embeddings: bool,
    /// Begin-of-sequence token id, if the config names one.
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token id, if the config names one.
    pub eos_token_id: Option<u32>,
}

#[derive(Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    architectures: Option<Vec<String>>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    vocab_size: Option<usize>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    rope_scaling: Option<serde_json::Value>,
    max_position_embeddings: Option<usize>,
    tie_word_embeddings: Option<bool>,
    hidden_act: Option<String>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    bos_token_id: Option<serde_json::Value>,
    eos_token_id: Option<serde_json::Value>,
}

/// The first id of a token-id field that may be a number or a list of numbers.
fn first_id(v: &Option<serde_json::Value>) -> Option<u32> {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(serde_json::Value::Array(a)) => a.first().and_then(|n| n.as_u64()).and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

impl LlamaConfig {
    /// Parses the text of a `config.json`; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> ConfigResult<LlamaConfig> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| format!("{origin}: not a valid config.json: {e}"))?;
        let model_type = raw.model_type.as_deref().unwrap_or("");
        let is_llama = model_type == "llama" || raw.architectures.iter().flatten().any(|a| a == "LlamaForCausalLM");
        if !is_llama {
            return Err(format!(
                "{origin}: model_type '{model_type}' is not supported by fp16-cuda (supported: llama / LlamaForCausalLM)"
            ));
        }
        let need = |v: Option<usize>, field: &str| -> ConfigResult<usize> {
            match v {
                Some(0) => Err(format!("{origin}: {field} must be greater than 0")),
                Some(v) => Ok(v),
                None => Err(format!("{origin}: {field} is missing")),
            }
        };
        let hidden_size = need(raw.hidden_size, "hidden_size")?;
        let num_attention_heads = need(raw.num_attention_heads, "num_attention_heads")?;
        let num_key_value_heads = need(raw.num_key_value_heads.or(raw.num_attention_heads), "num_key_value_heads")?;
        let head_dim = match raw.head_dim {
            Some(d) => need(Some(d), "head_dim")?,
            None if hidden_size % num_attention_heads == 0 => hidden_size / num_attention_heads,
            None => return Err(format!("{origin}: hidden_size {hidden_size} is not a multiple of num_attention_heads {num_attention_heads}")),
        };
        if num_attention_heads % num_key_value_heads != 0 {
            return Err(format!(
                "{origin}: num_attention_heads {num_attention_heads} is not a multiple of num_key_value_heads {num_key_value_heads}"
            ));
        }
        if head_dim % 2 != 0 {
            return Err(format!("{origin}: head_dim {head_dim} must be even for rotary embeddings"));
        }
        if let Some(act) = raw.hidden_act.as_deref().filter(|a| *a != "silu") {
            return Err(format!("{origin}: hidden_act '{act}' is not supported by fp16-cuda (supported: silu)"));
        }
        for (flag, field) in [(raw.attention_bias, "attention_bias"), (raw.mlp_bias, "mlp_bias")] {
            if flag == Some(true) {
                return Err(format!("{origin}: {field} = true is not supported by fp16-cuda"));
            }
        }
        let rope_scaling = parse_rope_scaling(raw.rope_scaling.as_ref(), origin)?;
        let rms_norm_eps = raw.rms_norm_eps.unwrap_or(1e-6);
        let rope_theta = raw.rope_theta.unwrap_or(10000.0);
        if !(rms_norm_eps > 0.0 && rms_norm_eps.is_finite()) || !(rope_theta > 0.0 && rope_theta.is_finite()) {
            return Err(format!("{origin}: rms_norm_eps and rope_theta must be positive numbers"));
        }
        Ok(LlamaConfig {
            hidden_size,
            intermediate_size: need(raw.intermediate_size, "intermediate_size")?,
            num_hidden_layers: need(raw.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            vocab_size: need(raw.vocab_size, "vocab_size")?,
            rms_norm_eps,
            rope_theta,
            rope_scaling,
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(2048),
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            bos_token_id: first_id(&raw.bos_token_id),
            eos_token_id: first_id(&raw.eos_token_id),
        })
    }

    /// Reads and parses `dir/config.json`.
    pub fn from_dir(dir: &Path) -> ConfigResult<LlamaConfig> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        LlamaConfig::from_json(&text, &path.display().to_string())
    }

    /// The inverse frequencies of the rotary embedding (`head_dim / 2` of them), with
    /// Llama 3 scaling applied when the config asks for it.
    pub fn rope_inv_freq(&self) -> Vec<f64> {
        let half = self.head_dim / 2;
        (0..half)
            .map(|i| {
                let f = 1.0 / self.rope_theta.powf((2 * i) as f64 / self.head_dim as f64);
                match &self.rope_scaling {
                    None => f,
                    Some(s) => {
                        let wavelen = 2.0 * std::f64::consts::PI / f;
                        let low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
                        let high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
                        if wavelen < high_wavelen {
                            f
                        } else if wavelen > low_wavelen {
                            f / s.factor
                        } else {
                            let smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor)
                                / (s.high_freq_factor - s.low_freq_factor);
                            (1.0 - smooth) * f / s.factor + smooth * f
                        }
                    }
                }
            })
            .collect()
    }

    /// Parameters of the model (embedding counted once when tied).
    pub fn n_params(&self) -> u64 {
        let (h, f, l) = (self.hidden_size as u64, self.intermediate_size as u64, self.num_hidden_layers as u64);
        let (q, kv) = ((self.num_attention_heads * self.head_dim) as u64, (self.num_key_value_heads * self.head_dim) as u64);
        let per_layer = h * q + 2 * h * kv + q * h + 3 * h * f + 2 * h;
        let embed = self.vocab_size as u64 * h;
        embed * if self.tie_word_embeddings { 1 } else { 2 } + l * per_layer + h
    }

    /// Bytes of the weights with `bytes_per_weight` bytes each.
    pub fn weight_bytes(&self, bytes_per_weight: usize) -> u64 {
        self.n_params() * bytes_per_weight as u64
    }
}

fn parse_rope_scaling(v: Option<&serde_json::Value>, origin: &str) -> ConfigResult<Option<Llama3RopeScaling>> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(None) };
    let kind = v.get("rope_type").or_else(|| v.get("type")).and_then(|t| t.as_str()).unwrap_or("");
    match kind {
        "default" => Ok(None),
        "llama3" => {
            let num = |field: &str| -> ConfigResult<f64> {
                v.get(field)
                    .and_then(serde_json::Value::as_f64)
                    .filter(|x| *x > 0.0 && x.is_finite())
                    .ok_or_else(|| format!("{origin}: rope_scaling.{field} is missing or not a positive number"))
            };
            let s = Llama3RopeScaling {
                factor: num("factor")?,
                low_freq_factor: num("low_freq_factor")?,
                high_freq_factor: num("high_freq_factor")?,
                original_max_position_embeddings: num("original_max_position_embeddings")?,
            };
            if s.high_freq_factor <= s.low_freq_factor {
                return Err(format!("{origin}: rope_scaling.high_freq_factor must be greater than low_freq_factor"));
            }
            Ok(Some(s))
        }
        other => Err(format!("{origin}: rope_scaling type '{other}' is not supported by fp16-cuda (supported: llama3)")),
    }
}

/// What `tokenizer_config.json` says about prompts: the chat template and special tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenizerConfig {
    /// Jinja chat template.
    pub chat_template: Option<String>,
    /// Text of the BOS token.
    pub bos_token: Option<String>,
    /// Text of the EOS token.
    pub eos_token: Option<String>,
    /// Whether prompts start with BOS.
    pub add_bos_token: bool,
}

/// A special-token field: a string, or an object with `content`.
fn token_field(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content").and_then(|c| c.as_str()).map(str::to_string),
        _ => None,
    }
}

impl TokenizerConfig {
    /// Parses the text of a `tokenizer_config.json`; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> ConfigResult<TokenizerConfig> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{origin}: not valid JSON: {e}"))?;
        let chat_template = match v.get("chat_template") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            // A list of named templates: the one named "default".
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
                .and_then(|t| t.get("template")?.as_str().map(str::to_string)),
            _ => None,
        };
        Ok(TokenizerConfig {
            chat_template,
            bos_token: token_field(v.get("bos_token")),
            eos_token: token_field(v.get("eos_token")),
            add_bos_token: v.get("add_bos_token").and_then(|b| b.as_bool()).unwrap_or(false),
        })
    }
}

/// The safetensors files of a model directory: `model.safetensors`, or the shards that
/// `model.safetensors.index.json` lists.
pub fn weight_files(dir: &Path) -> ConfigResult<Vec<PathBuf>> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&index).map_err(|_| {
        format!("{}: no model.safetensors and no model.safetensors.index.json", dir.display())
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not valid JSON: {e}", index.display()))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| format!("{}: weight_map is missing", index.display()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for file in map.values() {
        let name = file.as_str().ok_or_else(|| format!("{}: weight_map values must be file names", index.display()))?;
        if name.contains('/') || name.contains("..") {
            return Err(format!("{}: shard name '{name}' leaves the model directory", index.display()));
        }
        let path = dir.join(name);
        if !files.contains(&path) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(format!("{}: weight_map is empty", index.display()));
    }
    for f in &files {
        if !f.is_file() {
            return Err(format!("shard {} listed in {} is missing", f.display(), index.display()));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = r#"{"architectures":["LlamaForCausalLM"],"hidden_size":576,"intermediate_size":1536,
        "num_hidden_layers":30,"num_attention_heads":9,"num_key_value_heads":3,"head_dim":64,"vocab_size":49152,
        "rms_norm_eps":1e-5,"rope_theta":100000.0,"max_position_embeddings":8192,"tie_word_embeddings":true,
        "bos_token_id":1,"eos_token_id":2,"model_type":"llama","hidden_act":"silu"}"#;

    #[test]
    fn reads_the_smollm2_config_and_counts_its_parameters() {
        let c = LlamaConfig::from_json(SMOLLM2, "config.json").unwrap();
        assert_eq!((c.hidden_size, c.num_key_value_heads, c.head_dim, c.vocab_size), (576, 3, 64, 49152));
        assert!(c.tie_word_embeddings && c.rope_scaling.is_none());
        assert_eq!((c.bos_token_id, c.eos_token_id), (Some(1), Some(2)));
        // SmolLM2-135M: 134.5 M parameters.
        assert_eq!(c.n_params(), 134_515_008);
        let f = c.rope_inv_freq();
        assert_eq!(f.len(), 32);
        assert_eq!(f[0], 1.0);
        assert!((f[31] - 100000f64.powf(-62.0 / 64.0)).abs() < 1e-15);
    }

    #[test]
    fn llama3_rope_scaling_divides_only_low_frequencies() {
        let text = SMOLLM2.replace(
            r#""rope_theta":100000.0"#,
            r#""rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}"#,
        );
        let c = LlamaConfig::from_json(&text, "config.json").unwrap();
        let plain = LlamaConfig { rope_scaling: None, ..c.clone() }.rope_inv_freq();
        let scaled = c.rope_inv_freq();
        assert_eq!(scaled[0], plain[0], "high frequencies are kept");
        assert!((scaled[31] - plain[31] / 32.0).abs() < 1e-18, "low frequencies are divided by the factor");
        assert!(scaled.iter().zip(&plain).all(|(s, p)| s <= p && *s >= p / 32.0));
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let cases = [
            (SMOLLM2.replace(r#""model_type":"llama""#, r#""model_type":"mistral""#).replace("LlamaForCausalLM", "X"), "model_type 'mistral'"),
            (SMOLLM2.replace(r#""hidden_act":"silu""#, r#""hidden_act":"gelu""#), "hidden_act 'gelu'"),
            (SMOLLM2.replace(r#""num_key_value_heads":3"#, r#""num_key_value_heads":4"#), "not a multiple of num_key_value_heads 4"),
            (SMOLLM2.replace(r#""vocab_size":49152,"#, ""), "vocab_size is missing"),
            (SMOLLM2.replace(r#""hidden_size":576"#, r#""hidden_size":0"#), "hidden_size must be greater than 0"),
            (SMOLLM2.replace(r#""tie_word_embeddings":true"#, r#""tie_word_embeddings":true,"rope_scaling":{"type":"yarn"}"#), "rope_scaling type 'yarn'"),
            ("{".to_string(), "not a valid config.json"),
        ];
        for (text, want) in cases {
            let e = LlamaConfig::from_json(&text, "m/config.json").unwrap_err();
            assert!(e.contains(want) && e.starts_with("m/config.json"), "{e}");
        }
    }

    #[test]
    fn tokenizer_config_reads_templates_and_token_objects() {
        let t = TokenizerConfig::from_json(
            r#"{"chat_template":[{"name":"tool_use","template":"x"},{"name":"default","template":"{{ y }}"}],
                "bos_token":{"content":"<s>"},"eos_token":"</s>","add_bos_token":true}"#,
            "t",
        )
        .unwrap();
        assert_eq!(t.chat_template.as_deref(), Some("{{ y }}"));
        assert_eq!((t.bos_token.as_deref(), t.eos_token.as_deref(), t.add_bos_token), (Some("<s>"), Some("</s>"), true));
    }

    #[test]
    fn sharded_weights_are_listed_once_and_checked() {
        let dir = std::env::temp_dir().join(format!("fp16-cuda-shards-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.safetensors.index.json"), r#"{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","c":"s1.safetensors"}}"#).unwrap();
        let e = weight_files(&dir).unwrap_err();
        assert!(e.contains("s1.safetensors") && e.contains("missing"), "{e}");
        std::fs::write(dir.join("s1.safetensors"), b"").unwrap();
        std::fs::write(dir.join("s2.safetensors"), b"").unwrap();
        assert_eq!(weight_files(&dir).unwrap(), vec![dir.join("s1.safetensors"), dir.join("s2.safetensors")]);
        std::fs::write(dir.join("model.safetensors.index.json"), r#"{"weight_map":{"a":"../x.safetensors"}}"#).unwrap();
        assert!(weight_files(&dir).unwrap_err().contains("leaves the model directory"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
