//! What the engine needs from a backend: the thin operations every backend implements.
//!
//! The host's plugin loader ([`crate::plugin`]) implements these traits over a
//! plugin's C table; unit tests implement them over small fixtures.

use crate::error::Result;

/// Facts about a loaded model that the engine uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelFacts {
    /// Vocabulary size.
    pub n_vocab: i32,
    /// Context length the model was trained for.
    pub n_ctx_train: u32,
    /// Begin-of-sequence token.
    pub bos: Option<i32>,
    /// End-of-sequence token.
    pub eos: Option<i32>,
    /// End-of-turn token.
    pub eot: Option<i32>,
    /// Whether prompts start with `bos`.
    pub add_bos: bool,
    /// Number of parameters.
    pub n_params: u64,
    /// Bytes of weights.
    pub size_bytes: u64,
    /// Architecture name.
    pub architecture: String,
    /// One-line description from the backend.
    pub description: String,
    /// The model's chat template (Jinja), if it has one.
    pub chat_template: Option<String>,
    /// Text of the BOS token.
    pub bos_text: Option<String>,
    /// Text of the EOS token.
    pub eos_text: Option<String>,
}

/// Sizes of an evaluation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextSpec {
    /// Total KV positions over all sequences.
    pub n_ctx: u32,
    /// Most tokens in one `eval`.
    pub n_batch: u32,
    /// Most live sequences.
    pub n_seq_max: u32,
    /// CPU threads (0 = backend's choice).
    pub n_threads: i32,
}

/// One token of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchToken {
    /// Token id.
    pub token: i32,
    /// Position in its sequence.
    pub pos: i32,
    /// Sequence id.
    pub seq: i32,
    /// Whether logits are wanted after this token.
    pub output: bool,
}

/// A loaded model, shared by threads.
pub trait Model: Send + Sync {
    /// Facts about the model.
    fn facts(&self) -> &ModelFacts;
    /// Tokenizes text; `parse_special` turns control-token text into control tokens.
    fn tokenize(&self, text: &str, parse_special: bool) -> Result<Vec<i32>>;
    /// Creates an evaluation context.
    fn new_context(&self, spec: &ContextSpec) -> Result<Box<dyn EvalContext>>;
}

/// An evaluation context: KV cache over several sequences, used by one thread at a time.
pub trait EvalContext: Send {
    /// Evaluates tokens; returns the logits of `candidates` after each output token,
    /// as `n_outputs` rows of `candidates.len()` values.
    fn eval(&mut self, tokens: &[BatchToken], candidates: &[i32]) -> Result<Vec<f32>>;
    /// Makes `dst` share the cached positions `[p0, p1)` of `src` (`None` = open-ended).
    fn seq_copy(&mut self, src: i32, dst: i32, p0: Option<i32>, p1: Option<i32>) -> Result<()>;
    /// Forgets positions `[p0, p1)` of `seq` (`None` = open-ended).
    fn seq_remove(&mut self, seq: i32, p0: Option<i32>, p1: Option<i32>) -> Result<()>;
}
