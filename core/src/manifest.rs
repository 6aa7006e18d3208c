//! Model manifests: what a fine-tuned model was trained for.
//!
//! A prepared model carries a small JSON file beside it (`<name>.intent.json` next to
//! `<name>.gguf`, or `intent.json` inside a model directory) naming the taxonomy and the
//! prompt format it was fine-tuned with: a short system prompt and one answer word per
//! intent. The engine uses that prompt when the engine's taxonomy is the one the manifest
//! names, and the zero-shot prompt otherwise.

use crate::error::{Error, Result, Status};
use crate::taxonomy::Taxonomy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest version this library reads and writes.
pub const MANIFEST_VERSION: u32 = 1;
/// The prompt format of fine-tuned models: the model's chat template with `system_prompt`
/// as the system turn and the query as the user turn, rendered without the generation
/// prompt (trailing whitespace removed); the intent's answer word follows the end of the
/// user turn directly.
pub const FINETUNED_PROMPT_FORMAT: &str = "libintent-finetuned-v2";
/// File name of the manifest inside a model directory.
pub const MANIFEST_IN_DIR: &str = "intent.json";
/// Suffix that replaces a model file's extension to name its manifest.
pub const MANIFEST_SUFFIX: &str = ".intent.json";
/// How a fine-tuned model's queries are rewritten before tokenizing: the model was
/// trained on queries rewritten the same way (`training/answers.py` holds the training
/// side; `core/testdata/query_normalization.json` holds cases both sides are tested on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryNormalization {
    /// The query is tokenized as written.
    #[default]
    None,
    /// A message written in capitals (at least 4 cased letters, at least 80% of them
    /// upper case) is lower-cased, so that shouted wording meets the tokens the model
    /// learned; any other message is unchanged.
    FoldCaps,
}

impl QueryNormalization {
    /// Fewest cased letters a message needs before it can be folded.
    const FOLD_MIN_CASED: usize = 4;

    /// Whether this is [`QueryNormalization::None`].
    pub fn is_none(&self) -> bool {
        *self == QueryNormalization::None
    }

    /// The query as the model reads it.
    pub fn apply<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match self {
            QueryNormalization::None => std::borrow::Cow::Borrowed(text),
            QueryNormalization::FoldCaps => {
                let upper = text.chars().filter(|c| c.is_uppercase()).count();
                let cased = upper + text.chars().filter(|c| c.is_lowercase()).count();
                // upper >= 0.8 * cased, in integers.
                if cased >= Self::FOLD_MIN_CASED && 5 * upper >= 4 * cased {
                    std::borrow::Cow::Owned(text.to_lowercase())
                } else {
                    std::borrow::Cow::Borrowed(text)
                }
            }
        }
    }
}

/// Largest manifest read, in bytes.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// Where a model's base came from, recorded for reproducibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// File name.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// What a fine-tuned model was trained for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Manifest version ([`MANIFEST_VERSION`]).
    pub manifest_version: u32,
    /// Name of the taxonomy the model was trained on.
    pub taxonomy: String,
    /// Prompt format ([`FINETUNED_PROMPT_FORMAT`]).
    pub prompt_format: String,
    /// The system prompt used in training.
    pub system_prompt: String,
    /// The answer the model was trained to give for each intent label.
    pub answers: BTreeMap<String, String>,
    /// The base model the adapter was trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<SourceFile>,
    /// The adapter merged into this model, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<SourceFile>,
    /// The weight format of this prepared model (`F16`, `Q4_K_M`, `gptq-4bit-g64`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// How queries are rewritten before tokenizing (absent: as written).
    #[serde(default, skip_serializing_if = "QueryNormalization::is_none")]
    pub query_normalization: QueryNormalization,
}

impl ModelManifest {
    /// Parses and checks a manifest.
    pub fn from_json(text: &str) -> Result<ModelManifest> {
        let m: ModelManifest = serde_json::from_str(text)
            .map_err(|e| Error::new(Status::InvalidModel, format!("model manifest is not valid: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    /// Reads and checks the manifest at `path`.
    pub fn from_file(path: &Path) -> Result<ModelManifest> {
        let bad = |m: String| Error::new(Status::InvalidModel, format!("{}: {m}", path.display()));
        let size = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?.len();
        if size > MAX_MANIFEST_BYTES {
            return Err(bad(format!("manifest of {size} bytes is larger than {MAX_MANIFEST_BYTES}")));
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        ModelManifest::from_json(&text).map_err(|e| bad(e.message))
    }

    /// The manifest path of a model file or directory.
    pub fn path_for(model: &Path) -> PathBuf {
        if model.is_dir() {
            return model.join(MANIFEST_IN_DIR);
        }
        let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        model.with_file_name(format!("{stem}{MANIFEST_SUFFIX}"))
    }

    /// The manifest of a model, if it has one (an unreadable or invalid one is an error).
    pub fn for_model(model: &Path) -> Result<Option<ModelManifest>> {
        let path = ModelManifest::path_for(model);
        if !path.is_file() {
            return Ok(None);
        }
        ModelManifest::from_file(&path).map(Some)
    }

    /// Writes the manifest as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        std::fs::write(path, text + "\n")
            .map_err(|e| Error::new(Status::Io, format!("cannot write {}: {e}", path.display())))
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::new(Status::InvalidModel, m));
        if self.manifest_version != MANIFEST_VERSION {
            return bad(format!("manifest version {} is not supported (this library reads {MANIFEST_VERSION})", self.manifest_version));
        }
        if self.prompt_format != FINETUNED_PROMPT_FORMAT {
            return bad(format!("prompt format '{}' is not known (known: {FINETUNED_PROMPT_FORMAT})", self.prompt_format));
        }
        if self.answers.is_empty() {
            return bad("manifest lists no answers".into());
        }
        if let Some((label, _)) = self.answers.iter().find(|(_, a)| a.trim().is_empty()) {
            return bad(format!("manifest gives an empty answer for '{label}'"));
        }
        Ok(())
    }

    /// Whether this manifest's prompt applies to `taxonomy`: same name and exactly the
    /// same labels.
    pub fn applies_to(&self, taxonomy: &Taxonomy) -> bool {
        self.taxonomy == taxonomy.name
            && taxonomy.intents.len() == self.answers.len()
            && taxonomy.intents.iter().all(|i| self.answers.contains_key(&i.label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ModelManifest {
        let t = Taxonomy::ecommerce_v1();
        ModelManifest {
            manifest_version: 1,
            taxonomy: t.name.clone(),
            prompt_format: FINETUNED_PROMPT_FORMAT.into(),
            system_prompt: "Classify.".into(),
            answers: t.intents.iter().map(|i| (i.label.clone(), i.label.replace('_', " "))).collect(),
            base: None,
            adapter: None,
            weights: Some("Q4_K_M".into()),
            query_normalization: QueryNormalization::FoldCaps,
        }
    }

    #[test]
    fn round_trips_and_applies_to_its_taxonomy_only() {
        let m = sample();
        let back = ModelManifest::from_json(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert!(m.applies_to(&Taxonomy::ecommerce_v1()));
        let mut other = Taxonomy::ecommerce_v1();
        other.name = "my-shop".into();
        assert!(!m.applies_to(&other));
        let mut fewer = Taxonomy::ecommerce_v1();
        fewer.intents.pop();
        assert!(!m.applies_to(&fewer));
    }

    #[test]
    fn bad_manifests_name_the_problem() {
        let mut m = sample();
        m.prompt_format = "v0".into();
        let e = ModelManifest::from_json(&serde_json::to_string(&m).unwrap()).unwrap_err();
        assert!(e.message.contains("prompt format 'v0'"), "{}", e.message);
        let mut m = sample();
        m.answers.insert("review".into(), " ".into());
        assert!(ModelManifest::from_json(&serde_json::to_string(&m).unwrap()).unwrap_err().message.contains("'review'"));
        assert!(ModelManifest::from_json("{").unwrap_err().message.contains("not valid"));
        let text = serde_json::to_string(&sample()).unwrap().replace("fold_caps", "fold_everything");
        let e = ModelManifest::from_json(&text).unwrap_err();
        assert!(e.message.contains("fold_everything") && e.message.contains("fold_caps"), "{}", e.message);
        assert_eq!(ModelManifest::from_json("{}").unwrap_err().status, Status::InvalidModel);
    }

    #[test]
    fn a_manifest_without_normalization_reads_as_none_and_writes_without_it() {
        let mut m = sample();
        m.query_normalization = QueryNormalization::None;
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains("query_normalization"), "{text}");
        assert_eq!(ModelManifest::from_json(&text).unwrap().query_normalization, QueryNormalization::None);
        assert!(serde_json::to_string(&sample()).unwrap().contains(r#""query_normalization":"fold_caps""#));
    }

    #[test]
    fn fold_caps_gives_the_training_side_s_text_on_the_shared_cases() {
        let cases: Vec<(String, String)> =
            serde_json::from_str(include_str!("../testdata/query_normalization.json")).expect("cases parse");
        assert!(cases.len() >= 10);
        for (input, folded) in &cases {
            assert_eq!(QueryNormalization::FoldCaps.apply(input), folded.as_str(), "fold_caps({input:?})");
            assert_eq!(QueryNormalization::None.apply(input), input.as_str());
        }
        assert!(cases.iter().any(|(a, b)| a != b) && cases.iter().any(|(a, b)| a == b));
    }

    #[test]
    fn manifest_sits_beside_a_file_and_inside_a_directory() {
        assert_eq!(ModelManifest::path_for(Path::new("/m/a.Q4_K_M.gguf")), PathBuf::from("/m/a.Q4_K_M.intent.json"));
        let dir = std::env::temp_dir();
        assert_eq!(ModelManifest::path_for(&dir), dir.join("intent.json"));
        assert_eq!(ModelManifest::for_model(Path::new("/nonexistent/x.gguf")).unwrap(), None);
    }
}
