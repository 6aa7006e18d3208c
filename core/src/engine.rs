//! The engine: the classification algorithm, written once for every backend.
//!
//! 1. The fixed part of the prompt (system turn with the taxonomy, up to the user
//!    message) is evaluated once per context into sequence 0.
//! 2. Each query is evaluated in its own sequence that shares sequence 0's cache;
//!    many queries go to the backend in one `eval` call.
//! 3. The answer is constrained to the allowed labels by a token trie: the model is
//!    asked only at branching nodes, for the logits of the children's tokens. When
//!    the labels start with distinct tokens, the first step decides.
//! 4. A label's probability is the product of the model's probabilities along its
//!    path, each normalised over the allowed continuations; the result is a
//!    distribution over exactly the allowed labels.

use crate::backend::{BatchToken, ContextSpec, EvalContext, Model};
use crate::error::{Error, Result, Status};
use crate::manifest::{ModelManifest, QueryNormalization};
use crate::prompt::{self, AnswerPlacement, SplitPrompt};
use crate::taxonomy::Taxonomy;
use crate::trie::{softmax, LabelTrie};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Engine settings that shape contexts and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// CPU threads per evaluation (0 = all cores).
    pub threads: i32,
    /// Labels returned in `top` (at least 1).
    pub top_k: usize,
    /// Below this best-label probability the taxonomy's fallback label is returned (0 = off).
    pub threshold: f32,
    /// Longest query, in tokens.
    pub max_query_tokens: usize,
    /// Truncate longer queries instead of refusing them.
    pub truncate: bool,
    /// Queries evaluated together in one backend call.
    pub max_batch: usize,
    /// Contexts evaluated in parallel (each holds its own KV cache and prefix).
    pub max_parallel: usize,
    /// Reuse the evaluated prefix (turn off only to measure what it saves).
    pub prefix_cache: bool,
    /// 0: every branch of the label trie is expanded (exact probabilities for every label).
    /// Otherwise a branch is expanded only if it holds at least this probability and could
    /// hold the best label; the labels of other branches share their branch's mass
    /// equally. The best label and its confidence are exact either way.
    pub branch_min_prob: f32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            threads: 0,
            top_k: 3,
            threshold: 0.0,
            max_query_tokens: 128,
            truncate: false,
            max_batch: 8,
            max_parallel: 1,
            prefix_cache: true,
            branch_min_prob: 0.05,
        }
    }
}

/// Most sequences one context uses at once.
const MAX_SEQUENCES: usize = 64;

impl EngineConfig {
    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::new(Status::InvalidArgument, m.to_string()));
        if self.top_k == 0 {
            return bad("top_k must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad("threshold must be between 0 and 1");
        }
        if self.max_query_tokens == 0 || self.max_query_tokens > 8192 {
            return bad("max_query_tokens must be between 1 and 8192");
        }
        if self.max_batch == 0 || self.max_batch > MAX_SEQUENCES / 2 {
            return bad("max_batch must be between 1 and 32");
        }
        if self.max_parallel == 0 || self.max_parallel > 64 {
            return bad("max_parallel must be between 1 and 64");
        }
        if !(0.0..0.5).contains(&self.branch_min_prob) {
            return bad("branch_min_prob must be in [0, 0.5)");
        }
        if self.threads < 0 || self.threads > 1024 {
            return bad("threads must be between 0 and 1024");
        }
        Ok(())
    }

    /// Longest query accepted in bytes before tokenization (a cheap guard on huge input).
    pub fn max_query_bytes(&self) -> usize {
        (self.max_query_tokens * 16).max(1024)
    }
}

/// Per-call options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassifyOptions {
    /// Restrict the answer to these labels (`None`: all labels of the taxonomy).
    pub labels: Option<Vec<String>>,
    /// Override the engine's `top_k`.
    pub top_k: Option<usize>,
    /// Override the engine's threshold.
    pub threshold: Option<f32>,
}

/// A label and its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    /// The label.
    pub label: String,
    /// Its probability over the allowed labels.
    pub probability: f32,
}

/// Where the time of one classification went, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Tokenizing the query.
    pub tokenize_us: u64,
    /// Waiting for a free context.
    pub queue_us: u64,
    /// Backend evaluation of the batch this query was part of.
    pub eval_us: u64,
    /// Whole call, from entry to result.
    pub total_us: u64,
    /// Number of queries evaluated together with this one (itself included).
    pub batch_size: u32,
}

/// The answer for one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The chosen intent: the most probable allowed label, or the fallback label when
    /// the best probability is under the threshold.
    pub intent: String,
    /// Probability of the most probable allowed label.
    pub confidence: f32,
    /// Whether `intent` is the fallback label chosen because of the threshold.
    pub fallback: bool,
    /// The `top_k` most probable labels, best first.
    pub top: Vec<LabelScore>,
    /// Tokens of the query as evaluated.
    pub query_tokens: usize,
    /// Whether the query was truncated to the length limit.
    pub truncated: bool,
    /// Timings.
    pub timings: Timings,
}

/// The engine interface shared by every way of embedding libintent.
pub trait IntentEngine: Send + Sync {
    /// The taxonomy the engine answers from.
    fn taxonomy(&self) -> &Taxonomy;
    /// Classifies one query.
    fn classify(&self, text: &str, options: &ClassifyOptions) -> Result<Classification>;
    /// Classifies several queries, evaluated together; one result per query, in order.
    /// A bad query gets its own error; the others are still answered.
    fn classify_batch(&self, texts: &[&str], options: &ClassifyOptions) -> Vec<Result<Classification>>;
}

/// Carries `mass` from `node` down to the labels: through single-child links, split at
/// each branching node by the softmax of its children's logits where they were scored,
/// shared equally among the labels below where they were not (a pruned branch).
fn spread(trie: &LabelTrie, logits: &HashMap<(usize, usize), Vec<f32>>, q: usize, node: usize, mass: f32, probs: &mut [f32]) {
    let n = trie.resolve(node);
    if let Some(label) = trie.node(n).label {
        probs[label] += mass;
    } else if let Some(row) = logits.get(&(q, n)) {
        for (&(_, child), p) in trie.node(n).children.iter().zip(softmax(row)) {
            spread(trie, logits, q, child, mass * p, probs);
        }
    } else {
        let labels = trie.labels_under(n);
        for &l in &labels {
            probs[l] += mass / labels.len() as f32;
        }
    }
}

/// A pool of evaluation contexts, each with the prefix evaluated in sequence 0.
struct ContextPool {
    free: Mutex<PoolState>,
    available: Condvar,
}

struct PoolState {
    idle: Vec<Box<dyn EvalContext>>,
    created: usize,
}

/// The prepared prompt: token ids of the fixed prefix and of the per-query suffix.
#[derive(Debug, Clone)]
struct PreparedPrompt {
    prefix: Vec<i32>,
    suffix: Vec<i32>,
    split: SplitPrompt,
}

/// The classification engine over any [`Model`].
pub struct Engine {
    model: Arc<dyn Model>,
    taxonomy: Taxonomy,
    config: EngineConfig,
    prompt: PreparedPrompt,
    prompt_format: Option<String>,
    normalization: QueryNormalization,
    label_tokens: Vec<Vec<i32>>,
    full_trie: LabelTrie,
    end_token: Option<i32>,
    spec: ContextSpec,
    pool: ContextPool,
}

/// A query after validation and tokenization.
struct PreparedQuery {
    tokens: Vec<i32>,
    truncated: bool,
    tokenize_us: u64,
}

impl Engine {
    /// Builds an engine over a loaded model with the zero-shot prompt: renders and
    /// tokenizes the prompt, builds the label trie, and evaluates the prefix in the first
    /// context.
    pub fn new(model: Arc<dyn Model>, taxonomy: Taxonomy, config: EngineConfig) -> Result<Engine> {
        Engine::with_manifest(model, taxonomy, config, None)
    }

    /// Builds an engine over a loaded model; a fine-tuned model's manifest gives the
    /// prompt and the answer words when it was trained for this taxonomy (the zero-shot
    /// prompt is used otherwise).
    pub fn with_manifest(model: Arc<dyn Model>, taxonomy: Taxonomy, config: EngineConfig, manifest: Option<&ModelManifest>) -> Result<Engine> {
        config.validate()?;
        taxonomy.validate()?;
        let facts = model.facts().clone();
        let finetuned = manifest.filter(|m| m.applies_to(&taxonomy));
        let system = match finetuned {
            Some(m) => m.system_prompt.clone(),
            None => prompt::zero_shot_system_prompt(&taxonomy),
        };
        let placement = if finetuned.is_some() { AnswerPlacement::AfterUserTurn } else { AnswerPlacement::AssistantTurn };
        let split = prompt::render(facts.chat_template.as_deref(), &system, facts.bos_text.as_deref(), facts.eos_text.as_deref(), placement)?;
        let mut prefix = model.tokenize(&split.prefix, true)?;
        if facts.add_bos {
            if let Some(bos) = facts.bos {
                if prefix.first() != Some(&bos) {
                    prefix.insert(0, bos);
                }
            }
        }
        let suffix = model.tokenize(&split.suffix, true)?;
        let label_tokens = taxonomy
            .intents
            .iter()
            .map(|i| model.tokenize(finetuned.map_or(&i.label, |m| &m.answers[&i.label]), false))
            .collect::<Result<Vec<_>>>()?;
        let end_token = facts.eot.or(facts.eos);
        let all: Vec<(usize, &[i32])> = label_tokens.iter().enumerate().map(|(i, t)| (i, t.as_slice())).collect();
        let full_trie = LabelTrie::new(&all, end_token, &|i| taxonomy.intents[i].label.clone())?;
        let longest_label = label_tokens.iter().map(Vec::len).max().unwrap_or(0) + 1;
        let per_query = config.max_query_tokens + suffix.len();
        let per_batch = config.max_batch * (per_query + full_trie.branch_tokens() + longest_label);
        let prefix_in_queries = if config.prefix_cache { 0 } else { prefix.len() * config.max_batch };
        let n_ctx = prefix.len() + per_batch + prefix_in_queries + 16;
        if facts.n_ctx_train > 0 && prefix.len() + per_query + longest_label > facts.n_ctx_train as usize {
            return Err(Error::new(
                Status::InvalidArgument,
                format!(
                    "prompt prefix ({} tokens) plus a query of {} tokens exceeds the model's context of {}",
                    prefix.len(),
                    config.max_query_tokens,
                    facts.n_ctx_train
                ),
            ));
        }
        let spec = ContextSpec {
            n_ctx: u32::try_from(n_ctx).map_err(|_| Error::new(Status::OutOfMemory, "context too large"))?,
            n_batch: u32::try_from(n_ctx).map_err(|_| Error::new(Status::OutOfMemory, "batch too large"))?,
            n_seq_max: MAX_SEQUENCES as u32,
            n_threads: config.threads,
        };
        let engine = Engine {
            model,
            taxonomy,
            prompt: PreparedPrompt { prefix, suffix, split },
            prompt_format: finetuned.map(|m| m.prompt_format.clone()),
            normalization: finetuned.map_or(QueryNormalization::None, |m| m.query_normalization),
            label_tokens,
            full_trie,
            end_token,
            spec,
            pool: ContextPool { free: Mutex::new(PoolState { idle: Vec::new(), created: 0 }), available: Condvar::new() },
            config,
        };
        // Create the first context now, so that a model that cannot run fails here.
        let ctx = engine.acquire()?;
        engine.release(ctx);
        Ok(engine)
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The model.
    pub fn model(&self) -> &Arc<dyn Model> {
        &self.model
    }

    /// Number of tokens of the cached prompt prefix.
    pub fn prefix_tokens(&self) -> usize {
        self.prompt.prefix.len()
    }

    /// The prompt text around the query: (prefix, suffix), and whether the model's own
    /// chat template made it.
    pub fn prompt_text(&self) -> (&str, &str, bool) {
        (&self.prompt.split.prefix, &self.prompt.split.suffix, self.prompt.split.own_template)
    }

    /// The fine-tuned prompt format in use (from the model's manifest), or `None` for the
    /// zero-shot prompt.
    pub fn prompt_format(&self) -> Option<&str> {
        self.prompt_format.as_deref()
    }

    /// The label trie over the whole taxonomy: how many branching nodes (scoring steps in
    /// the worst case) and extra tokens per query the constraint costs.
    pub fn label_trie(&self) -> &LabelTrie {
        &self.full_trie
    }

    /// The token ids of each label, in taxonomy order.
    pub fn label_tokens(&self) -> &[Vec<i32>] {
        &self.label_tokens
    }

    /// The context sizes in use.
    pub fn context_spec(&self) -> ContextSpec {
        self.spec
    }

    fn new_context(&self) -> Result<Box<dyn EvalContext>> {
        let mut ctx = self.model.new_context(&self.spec)?;
        if self.config.prefix_cache {
            let tokens: Vec<BatchToken> = self
                .prompt
                .prefix
                .iter()
                .enumerate()
                .map(|(i, &token)| BatchToken { token, pos: i as i32, seq: 0, output: false })
                .collect();
            ctx.eval(&tokens, &[])?;
        }
        Ok(ctx)
    }

    fn acquire(&self) -> Result<Box<dyn EvalContext>> {
        let mut state = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(ctx) = state.idle.pop() {
                return Ok(ctx);
            }
            if state.created < self.config.max_parallel {
                state.created += 1;
                drop(state);
                return self.new_context().inspect_err(|_| {
                    self.pool.free.lock().unwrap_or_else(|p| p.into_inner()).created -= 1;
                    self.pool.available.notify_one();
                });
            }
            state = self.pool.available.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn release(&self, ctx: Box<dyn EvalContext>) {
        let mut state = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
        state.idle.push(ctx);
        drop(state);
        self.pool.available.notify_one();
    }

    /// Drops a context whose state is unknown after a failure.
    fn discard(&self, ctx: Box<dyn EvalContext>) {
        drop(ctx);
        let mut state = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
        state.created = state.created.saturating_sub(1);
        drop(state);
        self.pool.available.notify_one();
    }

    fn prepare_query(&self, text: &str) -> Result<PreparedQuery> {
        let start = Instant::now();
        if text.trim().is_empty() {
            return Err(Error::new(Status::EmptyQuery, "the query is empty or only whitespace"));
        }
        let normalized = self.normalization.apply(text);
        let max_bytes = self.config.max_query_bytes();
        let mut text = normalized.as_ref();
        let mut truncated = false;
        if text.len() > max_bytes {
            if !self.config.truncate {
                return Err(Error::new(
                    Status::QueryTooLong,
                    format!("the query is {} bytes, over the limit of {max_bytes} bytes ({} tokens)", text.len(), self.config.max_query_tokens),
                ));
            }
            let mut cut = max_bytes;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text = &text[..cut];
            truncated = true;
        }
        let mut tokens = self.model.tokenize(text, false)?;
        if tokens.len() > self.config.max_query_tokens {
            if !self.config.truncate {
                return Err(Error::new(
                    Status::QueryTooLong,
                    format!("the query is {} tokens, over the limit of {}", tokens.len(), self.config.max_query_tokens),
                ));
            }
            tokens.truncate(self.config.max_query_tokens);
            truncated = true;
        }
        Ok(PreparedQuery { tokens, truncated, tokenize_us: start.elapsed().as_micros() as u64 })
    }

    /// The trie and label indices for a call's options.
    fn trie_for(&self, options: &ClassifyOptions) -> Result<(std::borrow::Cow<'_, LabelTrie>, Vec<usize>)> {
        match &options.labels {
            None => Ok((std::borrow::Cow::Borrowed(&self.full_trie), (0..self.taxonomy.intents.len()).collect())),
            Some(labels) => {
                let names: Vec<&str> = labels.iter().map(String::as_str).collect();
                let allowed = self.taxonomy.subset(&names)?;
                let entries: Vec<(usize, &[i32])> = allowed.iter().map(|&i| (i, self.label_tokens[i].as_slice())).collect();
                let trie = LabelTrie::new(&entries, self.end_token, &|i| self.taxonomy.intents[i].label.clone())?;
                Ok((std::borrow::Cow::Owned(trie), allowed))
            }
        }
    }

    /// Scores a chunk of prepared queries in one context: at most two backend calls
    /// (more only when step 2 needs more sequences than one call holds).
    ///
    /// Step 1 evaluates every query (each in its own sequence sharing the cached prefix)
    /// and scores the root of the trie. Step 2 evaluates, in one call, every deeper
    /// branching node under a root branch holding at least `branch_min_prob`, each in a
    /// sequence copied from its query's. The masses are then spread top-down.
    /// Returns, per query, the probability of each taxonomy label (0 where not allowed).
    fn score_chunk(&self, ctx: &mut dyn EvalContext, trie: &LabelTrie, queries: &[&PreparedQuery]) -> Result<Vec<Vec<f32>>> {
        let base = if self.config.prefix_cache { self.prompt.prefix.len() } else { 0 };
        let root_ask = trie.is_branching(0);
        let root_candidates: Vec<i32> = if root_ask { trie.node(0).children.iter().map(|&(t, _)| t).collect() } else { Vec::new() };
        let mut batch = Vec::new();
        let mut end_pos = Vec::with_capacity(queries.len());
        for (q, query) in queries.iter().enumerate() {
            let seq = q as i32 + 1;
            if self.config.prefix_cache {
                ctx.seq_copy(0, seq, None, None)?;
            }
            let own_prefix: &[i32] = if self.config.prefix_cache { &[] } else { &self.prompt.prefix };
            let toks: Vec<i32> = [own_prefix, &query.tokens, &self.prompt.suffix].concat();
            let n = toks.len();
            for (i, token) in toks.into_iter().enumerate() {
                batch.push(BatchToken { token, pos: (base + i) as i32, seq, output: root_ask && i + 1 == n });
            }
            end_pos.push(base + n);
        }
        let root_logits = ctx.eval(&batch, &root_candidates)?;

        // Root branches per query: (query, subtree root, mass).
        let mut branches: Vec<(usize, usize, f32)> = Vec::new();
        for q in 0..queries.len() {
            if root_ask {
                let row = &root_logits[q * root_candidates.len()..(q + 1) * root_candidates.len()];
                for (&(_, child), p) in trie.node(0).children.iter().zip(softmax(row)) {
                    branches.push((q, child, p));
                }
            } else {
                branches.push((q, 0, 1.0));
            }
        }
        // Step 2: the branching nodes below the branches worth expanding. With
        // `branch_min_prob` 0 every branch is; otherwise a branch is expanded only if it
        // holds at least `branch_min_prob` and could hold the best label, i.e. at least
        // the mass of the best label already decided by its first token. So the best
        // label and its probability are always exact.
        let mut expand_from = vec![self.config.branch_min_prob; queries.len()];
        if self.config.branch_min_prob > 0.0 {
            for &(q, sub, mass) in &branches {
                if trie.node(trie.resolve(sub)).label.is_some() {
                    expand_from[q] = expand_from[q].max(mass);
                }
            }
        }
        let asks: Vec<(usize, usize)> = branches
            .iter()
            .filter(|&&(q, sub, mass)| mass >= expand_from[q] && trie.node(trie.resolve(sub)).label.is_none())
            .flat_map(|&(q, sub, _)| trie.branching_under(sub).into_iter().filter(|&n| n != 0).map(move |n| (q, n)))
            .collect();
        let mut node_logits: HashMap<(usize, usize), Vec<f32>> = HashMap::new();
        let first_free = queries.len() + 1;
        for step in asks.chunks(MAX_SEQUENCES - first_free) {
            let mut candidates: Vec<i32> = Vec::new();
            for &(_, node) in step {
                for &(t, _) in &trie.node(node).children {
                    if !candidates.contains(&t) {
                        candidates.push(t);
                    }
                }
            }
            let mut batch = Vec::new();
            for (k, &(q, node)) in step.iter().enumerate() {
                let seq = (first_free + k) as i32;
                ctx.seq_copy(q as i32 + 1, seq, None, None)?;
                let path = &trie.node(node).path;
                for (i, &token) in path.iter().enumerate() {
                    batch.push(BatchToken { token, pos: (end_pos[q] + i) as i32, seq, output: i + 1 == path.len() });
                }
            }
            let logits = ctx.eval(&batch, &candidates)?;
            for k in 0..step.len() {
                ctx.seq_remove((first_free + k) as i32, None, None)?;
            }
            for (k, &(q, node)) in step.iter().enumerate() {
                let row = &logits[k * candidates.len()..(k + 1) * candidates.len()];
                let picked = trie
                    .node(node)
                    .children
                    .iter()
                    .map(|(t, _)| row[candidates.iter().position(|c| c == t).unwrap_or(0)])
                    .collect();
                node_logits.insert((q, node), picked);
            }
        }
        let mut probs = vec![vec![0f32; self.taxonomy.intents.len()]; queries.len()];
        for &(q, sub, mass) in &branches {
            spread(trie, &node_logits, q, sub, mass, &mut probs[q]);
        }
        Ok(probs)
    }

    /// Clears every sequence but the prefix; on failure the context is not reusable.
    fn reset(&self, ctx: &mut dyn EvalContext) -> Result<()> {
        let first = if self.config.prefix_cache { 1 } else { 0 };
        for seq in first..MAX_SEQUENCES as i32 {
            ctx.seq_remove(seq, None, None)?;
        }
        Ok(())
    }

    fn build_result(&self, probs: &[f32], allowed: &[usize], query: &PreparedQuery, options: &ClassifyOptions, timings: Timings) -> Classification {
        let mut ranked: Vec<(usize, f32)> = allowed.iter().map(|&i| (i, probs[i])).collect();
        let total: f32 = ranked.iter().map(|(_, p)| p).sum();
        if total > 0.0 {
            for r in &mut ranked {
                r.1 /= total;
            }
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let top_k = options.top_k.unwrap_or(self.config.top_k).max(1);
        let threshold = options.threshold.unwrap_or(self.config.threshold);
        let (best, confidence) = ranked[0];
        let fallback_label = self.taxonomy.fallback.as_deref();
        let fallback = confidence < threshold && fallback_label.is_some();
        let intent = if fallback { fallback_label.unwrap_or_default().to_string() } else { self.taxonomy.intents[best].label.clone() };
        Classification {
            intent,
            confidence,
            fallback,
            top: ranked
                .iter()
                .take(top_k)
                .map(|&(i, p)| LabelScore { label: self.taxonomy.intents[i].label.clone(), probability: p })
                .collect(),
            query_tokens: query.tokens.len(),
            truncated: query.truncated,
            timings,
        }
    }

    /// The tokens the model evaluates for `text`, in order: the fixed prefix, the query
    /// (checked and limited as `classify` does) and the suffix; the answer is scored right
    /// after the last of them. Quantizers calibrate on exactly this.
    pub fn prompt_tokens(&self, text: &str) -> Result<Vec<i32>> {
        let query = self.prepare_query(text)?;
        Ok([&self.prompt.prefix[..], &query.tokens, &self.prompt.suffix].concat())
    }

    /// Checks per-call options against the engine (top-k, threshold, and that every label
    /// is in the taxonomy), as `classify` and `classify_batch` do before any query.
    pub fn check_options(&self, options: &ClassifyOptions) -> Result<()> {
        self.check_limits(options)?;
        self.trie_for(options).map(|_| ())
    }

    /// The top-k and threshold checks of [`Engine::check_options`].
    fn check_limits(&self, options: &ClassifyOptions) -> Result<()> {
        if options.top_k == Some(0) {
            return Err(Error::new(Status::InvalidArgument, "top_k must be at least 1"));
        }
        if let Some(t) = options.threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::new(Status::InvalidArgument, format!("threshold {t} is not between 0 and 1")));
            }
        }
        Ok(())
    }
}

impl IntentEngine for Engine {
    fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    fn classify(&self, text: &str, options: &ClassifyOptions) -> Result<Classification> {
        self.classify_batch(&[text], options).pop().unwrap_or_else(|| Err(Error::new(Status::Internal, "no result")))
    }

    fn classify_batch(&self, texts: &[&str], options: &ClassifyOptions) -> Vec<Result<Classification>> {
        let start = Instant::now();
        let setup = self.check_limits(options).and_then(|()| self.trie_for(options));
        let (trie, allowed) = match setup {
            Ok(v) => v,
            Err(e) => return texts.iter().map(|_| Err(e.clone())).collect(),
        };
        let prepared: Vec<Result<PreparedQuery>> = texts.iter().map(|t| self.prepare_query(t)).collect();
        let mut results: Vec<Option<Result<Classification>>> = prepared
            .iter()
            .map(|p| p.as_ref().err().map(|e| Err(e.clone())))
            .collect();
        let good: Vec<usize> = (0..texts.len()).filter(|&i| prepared[i].is_ok()).collect();
        for chunk in good.chunks(self.config.max_batch) {
            let queue_start = Instant::now();
            let outcome = self.acquire().and_then(|mut ctx| {
                let queue_us = queue_start.elapsed().as_micros() as u64;
                let eval_start = Instant::now();
                let queries: Vec<&PreparedQuery> = chunk.iter().filter_map(|&i| prepared[i].as_ref().ok()).collect();
                let scored = self.score_chunk(ctx.as_mut(), &trie, &queries);
                let eval_us = eval_start.elapsed().as_micros() as u64;
                match self.reset(ctx.as_mut()) {
                    Ok(()) => self.release(ctx),
                    Err(_) => self.discard(ctx),
                }
                scored.map(|s| (s, queue_us, eval_us))
            });
            match outcome {
                Ok((scores, queue_us, eval_us)) => {
                    for (k, &i) in chunk.iter().enumerate() {
                        let Ok(query) = prepared[i].as_ref() else { continue };
                        let timings = Timings {
                            tokenize_us: query.tokenize_us,
                            queue_us,
                            eval_us,
                            total_us: start.elapsed().as_micros() as u64,
                            batch_size: chunk.len() as u32,
                        };
                        results[i] = Some(Ok(self.build_result(&scores[k], &allowed, query, options, timings)));
                    }
                }
                Err(e) => {
                    for &i in chunk {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::new(Status::Internal, "query was not scored"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{ScriptedModel, PREFERENCE};
    use crate::taxonomy::Intent;
    use std::sync::atomic::Ordering;

    const LABELS: &[&str] = &["check_invoice", "check_refund", "cancel_order", "cancel", "track", "other"];

    fn taxonomy() -> Taxonomy {
        Taxonomy {
            name: "test".into(),
            fallback: Some("other".into()),
            intents: LABELS.iter().map(|l| Intent { label: (*l).into(), description: format!("about {l}") }).collect(),
        }
    }

    fn engine_with(config: EngineConfig) -> (Engine, Arc<crate::fixture::Counters>) {
        let model = ScriptedModel::new(LABELS);
        let counters = Arc::clone(&model.counters);
        (Engine::new(Arc::new(model), taxonomy(), config).unwrap(), counters)
    }

    fn engine() -> Engine {
        engine_with(EngineConfig { branch_min_prob: 0.0, top_k: 10, ..EngineConfig::default() }).0
    }

    fn p_step() -> f32 {
        PREFERENCE.exp() / (PREFERENCE.exp() + 1.0)
    }

    #[test]
    fn the_answer_follows_the_model_through_every_branch() {
        let e = engine();
        let r = e.classify("please check_invoice 123", &ClassifyOptions::default()).unwrap();
        assert_eq!(r.intent, "check_invoice");
        // Branches on its path: root {c,t,o}, "c" {h,a}, "check_" {i,r}.
        let root = PREFERENCE.exp() / (PREFERENCE.exp() + 2.0);
        let expected = root * p_step() * p_step();
        assert!((r.confidence - expected).abs() < 1e-5, "{} vs {expected}", r.confidence);
        let total: f32 = r.top.iter().map(|s| s.probability).sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert_eq!(r.top.len(), LABELS.len());
        assert!(r.top.windows(2).all(|w| w[0].probability >= w[1].probability));
        assert!(!r.fallback);
    }

    /// Answer words of the fine-tuned manifests below, one per label of [`LABELS`].
    const ANSWERS: [&str; 6] = ["invoice", "refund", "cancel", "halt", "track", "other"];

    fn finetuned_manifest(query_normalization: QueryNormalization) -> ModelManifest {
        ModelManifest {
            manifest_version: 1,
            taxonomy: "test".into(),
            prompt_format: crate::manifest::FINETUNED_PROMPT_FORMAT.into(),
            system_prompt: "Short fine-tuned prompt.".into(),
            answers: LABELS.iter().zip(ANSWERS).map(|(l, a)| (l.to_string(), a.to_string())).collect(),
            base: None,
            adapter: None,
            weights: None,
            query_normalization,
        }
    }

    #[test]
    fn a_fine_tuned_manifest_gives_the_prompt_and_one_step_answers() {
        use crate::manifest::FINETUNED_PROMPT_FORMAT;
        let answers = ANSWERS;
        let manifest = finetuned_manifest(QueryNormalization::None);
        let model = ScriptedModel::new(&answers);
        let counters = Arc::clone(&model.counters);
        let config = EngineConfig { branch_min_prob: 0.0, ..EngineConfig::default() };
        let e = Engine::with_manifest(Arc::new(model), taxonomy(), config.clone(), Some(&manifest)).unwrap();
        assert_eq!(e.prompt_format(), Some(FINETUNED_PROMPT_FORMAT));
        assert!(e.prompt_text().0.contains("Short fine-tuned prompt.") && !e.prompt_text().0.contains("about check_invoice"));
        let evals = counters.evals.load(Ordering::SeqCst);
        let r = e.classify("I want my refund", &ClassifyOptions::default()).unwrap();
        assert_eq!(r.intent, "check_refund");
        // Distinct first tokens: one evaluation decides, with the exact probability.
        assert_eq!(counters.evals.load(Ordering::SeqCst) - evals, 1);
        let expected = PREFERENCE.exp() / (PREFERENCE.exp() + 5.0);
        assert!((r.confidence - expected).abs() < 1e-5, "{} vs {expected}", r.confidence);

        // Another taxonomy: the manifest does not apply, the zero-shot prompt is used.
        let mut other = taxonomy();
        other.name = "other-shop".into();
        let e = Engine::with_manifest(Arc::new(ScriptedModel::new(LABELS)), other, config, Some(&manifest)).unwrap();
        assert_eq!(e.prompt_format(), None);
        assert!(e.prompt_text().0.contains("about check_invoice"));
        assert_eq!(e.classify("track it", &ClassifyOptions::default()).unwrap().intent, "track");
    }

    #[test]
    fn a_fold_caps_manifest_reads_a_shouted_query_in_lower_case() {
        let config = EngineConfig { branch_min_prob: 0.0, ..EngineConfig::default() };
        let with = |n| Engine::with_manifest(Arc::new(ScriptedModel::new(&ANSWERS)), taxonomy(), config.clone(), Some(&finetuned_manifest(n))).unwrap();
        let folding = with(QueryNormalization::FoldCaps);
        let as_written = with(QueryNormalization::None);
        let quiet = as_written.classify("I want my refund", &ClassifyOptions::default()).unwrap();
        let shouted = folding.classify("I WANT MY REFUND", &ClassifyOptions::default()).unwrap();
        assert_eq!(shouted.intent, "check_refund");
        assert!((shouted.confidence - quiet.confidence).abs() < 1e-6, "{} vs {}", shouted.confidence, quiet.confidence);
        // As written, the scripted model finds no answer word in the shouted query: every answer is equally likely.
        let unfolded = as_written.classify("I WANT MY REFUND", &ClassifyOptions::default()).unwrap();
        assert!((unfolded.confidence - 1.0 / ANSWERS.len() as f32).abs() < 1e-5, "{}", unfolded.confidence);
        // A query that is not shouted is left alone: mixed case keeps the scripted model from finding the word.
        let mixed = folding.classify("I want my REFUND", &ClassifyOptions::default()).unwrap();
        assert!((mixed.confidence - 1.0 / ANSWERS.len() as f32).abs() < 1e-5, "{}", mixed.confidence);
    }

    #[test]
    fn a_label_that_is_a_prefix_of_another_is_reachable() {
        let e = engine();
        assert_eq!(e.classify("cancel_order now", &ClassifyOptions::default()).unwrap().intent, "cancel_order");
        let r = e.classify("just cancel it", &ClassifyOptions::default()).unwrap();
        assert_eq!(r.intent, "cancel");
    }

    #[test]
    fn restriction_keeps_answers_inside_the_allowed_labels() {
        let e = engine();
        let opts = ClassifyOptions { labels: Some(vec!["track".into(), "cancel".into()]), ..Default::default() };
        let r = e.classify("check_invoice", &opts).unwrap();
        assert!(["track", "cancel"].contains(&r.intent.as_str()));
        assert_eq!(r.top.len(), 2);
        let total: f32 = r.top.iter().map(|s| s.probability).sum();
        assert!((total - 1.0).abs() < 1e-5);
        let r = e.classify("track my parcel", &opts).unwrap();
        assert_eq!(r.intent, "track");
        let bad = ClassifyOptions { labels: Some(vec!["nope".into()]), ..Default::default() };
        assert_eq!(e.classify("x", &bad).unwrap_err().status, Status::UnknownLabel);
        let empty = ClassifyOptions { labels: Some(vec![]), ..Default::default() };
        assert_eq!(e.classify("x", &empty).unwrap_err().status, Status::EmptyLabelSet);
    }

    #[test]
    fn the_prefix_is_evaluated_once_and_reused() {
        let (e, counters) = engine_with(EngineConfig::default());
        let after_open = counters.tokens.load(Ordering::SeqCst);
        assert_eq!(after_open, e.prefix_tokens());
        for _ in 0..5 {
            e.classify("track", &ClassifyOptions::default()).unwrap();
        }
        assert_eq!(counters.contexts.load(Ordering::SeqCst), 1);
        let per_query = (counters.tokens.load(Ordering::SeqCst) - after_open) / 5;
        assert!(per_query < e.prefix_tokens(), "{per_query} tokens per query re-evaluate the prefix");
    }

    #[test]
    fn without_the_prefix_cache_the_answers_are_the_same() {
        let cached = engine();
        let (uncached, _) = engine_with(EngineConfig { prefix_cache: false, branch_min_prob: 0.0, top_k: 10, ..EngineConfig::default() });
        for q in ["check_refund please", "cancel", "hello there", "track it"] {
            let a = cached.classify(q, &ClassifyOptions::default()).unwrap();
            let b = uncached.classify(q, &ClassifyOptions::default()).unwrap();
            assert_eq!(a.top, b.top, "{q}");
        }
    }

    #[test]
    fn a_batch_equals_one_by_one_and_a_bad_query_spoils_nothing() {
        let (e, _) = engine_with(EngineConfig { max_batch: 3, ..EngineConfig::default() });
        let queries = ["check_invoice", "track", "", "cancel_order", "   ", "check_refund", "nothing", "cancel"];
        let batch = e.classify_batch(&queries, &ClassifyOptions::default());
        assert_eq!(batch.len(), queries.len());
        for (q, r) in queries.iter().zip(&batch) {
            if q.trim().is_empty() {
                assert_eq!(r.as_ref().unwrap_err().status, Status::EmptyQuery);
            } else {
                let single = e.classify(q, &ClassifyOptions::default()).unwrap();
                let r = r.as_ref().unwrap();
                assert_eq!((r.intent.as_str(), &r.top), (single.intent.as_str(), &single.top), "{q}");
            }
        }
    }

    #[test]
    fn a_backend_failure_fails_its_chunk_only_and_the_engine_recovers() {
        let (e, counters) = engine_with(EngineConfig { max_batch: 2, ..EngineConfig::default() });
        let queries = ["check_invoice", "track", "cancel_order", "check_refund", "cancel", "nothing"];
        let want: Vec<String> = queries.iter().map(|q| e.classify(q, &ClassifyOptions::default()).unwrap().intent).collect();
        // Fail the first eval of the next call (the query tokens), then, on another call,
        // the second (branch scoring, with the chunk's tokens already in the cache).
        for step in [1, 2] {
            counters.fail_eval.store(counters.evals.load(Ordering::SeqCst) + step, Ordering::SeqCst);
            let batch = e.classify_batch(&queries, &ClassifyOptions::default());
            let failed: Vec<usize> = (0..queries.len()).filter(|&i| batch[i].is_err()).collect();
            assert_eq!(failed, [0, 1], "step {step}: only the first chunk fails");
            let err = batch[0].as_ref().unwrap_err();
            assert_eq!(err.status, Status::OutOfMemory);
            assert!(err.message.contains("injected fault"), "{}", err.message);
            for (i, r) in batch.iter().enumerate().skip(2) {
                assert_eq!(r.as_ref().unwrap().intent, want[i], "step {step}: {}", queries[i]);
            }
            for (q, w) in queries.iter().zip(&want) {
                assert_eq!(&e.classify(q, &ClassifyOptions::default()).unwrap().intent, w, "after the fault: {q}");
            }
        }
    }

    #[test]
    fn prompt_tokens_are_prefix_query_and_suffix() {
        let e = engine();
        let tokens = e.prompt_tokens("track it").unwrap();
        let text: String = tokens.iter().map(|&t| if t >= 10 { char::from((t - 10) as u8) } else { '|' }).collect();
        assert!(text.ends_with("user\ntrack it<|im_end|>\n<|im_start|>assistant\n"), "{text}");
        assert!(text.starts_with("<|im_start|>system\n"), "{text}");
        assert_eq!(e.prompt_tokens("  ").unwrap_err().status, Status::EmptyQuery);
    }

    #[test]
    fn long_queries_are_refused_or_truncated() {
        let (e, _) = engine_with(EngineConfig { max_query_tokens: 16, ..EngineConfig::default() });
        let long = "track ".repeat(10);
        let err = e.classify(&long, &ClassifyOptions::default()).unwrap_err();
        assert_eq!(err.status, Status::QueryTooLong);
        assert!(err.message.contains("60 tokens, over the limit of 16"), "{}", err.message);
        let (t, _) = engine_with(EngineConfig { max_query_tokens: 16, truncate: true, ..EngineConfig::default() });
        let r = t.classify(&long, &ClassifyOptions::default()).unwrap();
        assert!(r.truncated);
        assert_eq!(r.query_tokens, 16);
        assert_eq!(r.intent, "track");
        let huge = "x".repeat(1 << 20);
        assert_eq!(e.classify(&huge, &ClassifyOptions::default()).unwrap_err().status, Status::QueryTooLong);
    }

    #[test]
    fn under_the_threshold_the_fallback_label_is_returned() {
        let e = engine();
        let r = e.classify("nothing known", &ClassifyOptions { threshold: Some(0.5), ..Default::default() }).unwrap();
        assert!(r.fallback);
        assert_eq!(r.intent, "other");
        assert!(r.confidence < 0.5);
        let r = e.classify("track", &ClassifyOptions { threshold: Some(0.5), ..Default::default() }).unwrap();
        assert!(!r.fallback);
        assert_eq!(r.intent, "track");
        assert_eq!(e.classify("x", &ClassifyOptions { threshold: Some(1.5), ..Default::default() }).unwrap_err().status, Status::InvalidArgument);
        assert_eq!(e.classify("x", &ClassifyOptions { top_k: Some(0), ..Default::default() }).unwrap_err().status, Status::InvalidArgument);
    }

    #[test]
    fn unlikely_branches_are_not_expanded() {
        let (exact, ec) = engine_with(EngineConfig { branch_min_prob: 0.0, top_k: 10, ..EngineConfig::default() });
        let (pruned, pc) = engine_with(EngineConfig { branch_min_prob: 0.05, top_k: 10, ..EngineConfig::default() });
        let (e0, p0) = (ec.tokens.load(Ordering::SeqCst), pc.tokens.load(Ordering::SeqCst));
        // "track" leaves the "c..." branch (check_*, cancel*) with about 1.7% of the mass.
        let a = exact.classify("track", &ClassifyOptions::default()).unwrap();
        let b = pruned.classify("track", &ClassifyOptions::default()).unwrap();
        let (e1, p1) = (ec.tokens.load(Ordering::SeqCst) - e0, pc.tokens.load(Ordering::SeqCst) - p0);
        assert!(p1 < e1, "pruning evaluated {p1} tokens, exact {e1}");
        assert_eq!(a.intent, b.intent);
        assert!((a.confidence - b.confidence).abs() < 1e-6, "the best label's branch is exact either way");
        let total: f32 = b.top.iter().map(|s| s.probability).sum();
        assert!((total - 1.0).abs() < 1e-5);
        // Labels of the pruned branch share its mass equally.
        let share = |r: &Classification, l: &str| r.top.iter().find(|s| s.label == l).unwrap().probability;
        assert!((share(&b, "check_invoice") - share(&b, "cancel")).abs() < 1e-6);
    }

    #[test]
    fn eight_threads_get_the_answers_of_one() {
        let (e, counters) = engine_with(EngineConfig { max_parallel: 2, ..EngineConfig::default() });
        let e = Arc::new(e);
        let queries = ["check_invoice", "track", "cancel_order", "check_refund", "cancel", "hello"];
        let expected: Vec<_> = queries.iter().map(|q| e.classify(q, &ClassifyOptions::default()).unwrap().top).collect();
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let e = Arc::clone(&e);
                std::thread::spawn(move || {
                    (0..20)
                        .map(|i| {
                            let k = (t + i) % queries.len();
                            (k, e.classify(queries[k], &ClassifyOptions::default()).unwrap().top)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (k, top) in h.join().unwrap() {
                assert_eq!(top, expected[k]);
            }
        }
        assert!(counters.contexts.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn bad_configuration_is_refused() {
        let model: Arc<dyn Model> = Arc::new(ScriptedModel::new(LABELS));
        for config in [
            EngineConfig { top_k: 0, ..EngineConfig::default() },
            EngineConfig { max_batch: 0, ..EngineConfig::default() },
            EngineConfig { threshold: -0.1, ..EngineConfig::default() },
            EngineConfig { max_parallel: 0, ..EngineConfig::default() },
        ] {
            let err = Engine::new(Arc::clone(&model), taxonomy(), config).err().unwrap();
            assert_eq!(err.status, Status::InvalidArgument);
        }
    }
}
