//! Opening an engine from names and paths: the model (explicit, `INTENT_MODEL`, or the
//! default model), its format, the backend plugin for it, and the taxonomy.

use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result, Status};
use crate::gguf;
use crate::gptq::GptqConfig;
use crate::manifest::ModelManifest;
use crate::plugin;
use crate::taxonomy::{Taxonomy, ECOMMERCE_V1};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File name of the default model: SmolLM2-135M-Instruct fine-tuned for `ecommerce-v1`,
/// Q4_K_M, made by the build step (`intent model prepare` from the base and the adapter).
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-intent.Q4_K_M.gguf";
/// File name of the base model the set-up step fetches (zero-shot, any taxonomy).
pub const BASE_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Environment variable naming the model used when none is given.
pub const MODEL_ENV: &str = "INTENT_MODEL";

/// Everything needed to open an engine.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Backend name (`gguf-cpu`, ...); `None` picks the first usable one for the model's format.
    pub backend: Option<String>,
    /// Model file or directory; `None` uses `INTENT_MODEL`, then the default model.
    pub model: Option<PathBuf>,
    /// Built-in taxonomy name or JSON file; `None` is `ecommerce-v1`.
    pub taxonomy: Option<String>,
    /// Explicit plugin file or directory, searched first.
    pub plugin_path: Option<PathBuf>,
    /// Memory-map the weights instead of reading them (default: read, for stable latency).
    pub use_mmap: bool,
    /// GPU device index for GPU backends.
    pub device: i32,
    /// Engine settings.
    pub config: EngineConfig,
}

/// Where the default model is looked for: `models/` beside or above the library and the
/// executable (three levels up, so a build tree's `target/release` finds the repository's
/// `models/`), then `share/libintent/models` of an installation prefix.
pub fn default_model_candidates() -> Vec<PathBuf> {
    model_candidates(DEFAULT_MODEL_FILE)
}

/// The base model ([`BASE_MODEL_FILE`]), looked for where the default model is.
pub fn resolve_base_model() -> Result<PathBuf> {
    find_model_file(
        BASE_MODEL_FILE,
        &format!("the base model {BASE_MODEL_FILE} was not found (scripts/setup.sh fetches it)"),
    )
}

/// The first existing candidate for `file`; else a `ModelNotFound` error: `missing`, then
/// every place looked in.
fn find_model_file(file: &str, missing: &str) -> Result<PathBuf> {
    let candidates = model_candidates(file);
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        Error::new(Status::ModelNotFound, format!("{missing}; looked in: {}", looked.join(", ")))
    })
}

/// Where a model file of the project is looked for (see [`default_model_candidates`]).
fn model_candidates(file: &str) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(d) = plugin::library_dir() {
        roots.push(d);
    }
    if let Some(d) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        roots.push(d);
    }
    let mut out = Vec::new();
    for root in roots {
        for dir in root.ancestors().take(4) {
            for sub in ["models", "share/libintent/models"] {
                let p = dir.join(sub).join(file);
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// The model path to use: explicit, else `INTENT_MODEL` (ignored in setuid/setgid
/// processes), else the first default candidate found.
pub fn resolve_model(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = plugin::trusted_env(MODEL_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    find_model_file(
        DEFAULT_MODEL_FILE,
        &format!(
            "no model given and the default model {DEFAULT_MODEL_FILE} was not found (scripts/setup.sh fetches \
             the base, scripts/build.sh prepares the default from it; or set {MODEL_ENV})"
        ),
    )
}

/// The format of a model: `gguf` (checked header), `gptq` (a directory with a GPTQ
/// description the engine can read) or `hf` (a directory with `config.json`).
pub fn model_format(path: &Path) -> Result<&'static str> {
    if !path.exists() {
        return Err(Error::new(Status::ModelNotFound, format!("model not found: {}", path.display())));
    }
    if path.is_dir() {
        if GptqConfig::find(path)?.is_some() {
            return Ok("gptq");
        }
        if path.join("config.json").is_file() {
            return Ok("hf");
        }
        return Err(Error::new(
            Status::UnsupportedModel,
            format!("{} is a directory without config.json: not a model", path.display()),
        ));
    }
    if gguf::is_gguf(path) {
        let summary = gguf::inspect(path)?;
        if summary.architecture.is_none() {
            return Err(Error::new(Status::InvalidModel, format!("{}: GGUF without general.architecture", path.display())));
        }
        // A run-time LoRA's base gets the same header checks before the backend reads it
        // (the backend refuses a base named by a path, so only a plain name is followed).
        if let Some(base) = summary.lora_base.as_deref().filter(|b| intent_plugin_abi::is_plain_file_name(b)) {
            let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
            if base_path.is_file() {
                gguf::inspect(&base_path)
                    .map_err(|e| Error::new(e.status, format!("the base of the LoRA adapter {}: {}", path.display(), e.message)))?;
            }
        }
        return Ok("gguf");
    }
    Err(Error::new(
        Status::InvalidModel,
        format!("{} is not a model this engine can read (not GGUF, not a model directory)", path.display()),
    ))
}

/// Opens an engine: resolves the model, checks its file, reads its manifest (if any),
/// finds the plugin, loads the taxonomy, and prepares the prompt cache.
pub fn open(options: &OpenOptions) -> Result<Engine> {
    let taxonomy = Taxonomy::load(options.taxonomy.as_deref().unwrap_or(ECOMMERCE_V1))?;
    let model_path = resolve_model(options.model.as_deref())?;
    let format = model_format(&model_path)?;
    let plugin = plugin::find(options.backend.as_deref(), format, options.plugin_path.as_deref())?;
    if plugin.model_format != format {
        return Err(Error::new(
            Status::UnsupportedModel,
            format!(
                "backend '{}' loads {} models, but {} is a {format} model",
                plugin.name,
                plugin.model_format,
                model_path.display()
            ),
        ));
    }
    let manifest = ModelManifest::for_model(&model_path)?;
    let model = plugin.open_model(&model_path, options.use_mmap, options.device)?;
    Engine::with_manifest(Arc::new(model), taxonomy, options.config.clone(), manifest.as_ref())
}
