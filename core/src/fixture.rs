//! A small scripted language model for unit tests of the engine's algorithm.
//!
//! Tokens are bytes (id = byte + 10); id 2 is the end-of-turn token. The model "wants"
//! to answer the first label that appears in the user's message: it gives the next
//! character of that label (or the end token once the label is complete) a logit of
//! [`PREFERENCE`] and every other candidate 0. With no label in the message all logits
//! are 0. The context keeps a real per-sequence token history and refuses positions
//! that are not contiguous, so the engine's cache bookkeeping is checked on every call.

use crate::backend::{BatchToken, ContextSpec, EvalContext, Model, ModelFacts};
use crate::error::{Error, Result, Status};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Logit given to the continuation the scripted model prefers.
pub const PREFERENCE: f32 = 4.0;
/// The end-of-turn token.
pub const EOT: i32 = 2;

/// Counters shared by the model and its contexts.
#[derive(Debug, Default)]
pub struct Counters {
    /// Tokens evaluated.
    pub tokens: AtomicUsize,
    /// `eval` calls.
    pub evals: AtomicUsize,
    /// Contexts created.
    pub contexts: AtomicUsize,
    /// Fault injection: the `eval` call with this number (counting from 1 over all
    /// contexts) fails as a backend running out of memory would; 0 = none.
    pub fail_eval: AtomicUsize,
}

/// The scripted model.
pub struct ScriptedModel {
    facts: ModelFacts,
    labels: Vec<String>,
    /// Shared counters.
    pub counters: Arc<Counters>,
}

impl ScriptedModel {
    /// A model that knows these labels.
    pub fn new(labels: &[&str]) -> ScriptedModel {
        ScriptedModel {
            facts: ModelFacts {
                n_vocab: 266,
                n_ctx_train: 1 << 16,
                eot: Some(EOT),
                eos: Some(EOT),
                architecture: "scripted".into(),
                description: "scripted test model".into(),
                ..ModelFacts::default()
            },
            labels: labels.iter().map(|s| s.to_string()).collect(),
            counters: Arc::default(),
        }
    }
}

fn decode(tokens: &[i32]) -> String {
    let bytes: Vec<u8> = tokens.iter().map(|&t| if t >= 10 { (t - 10) as u8 } else { b'\x02' }).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Model for ScriptedModel {
    fn facts(&self) -> &ModelFacts {
        &self.facts
    }

    fn tokenize(&self, text: &str, _parse_special: bool) -> Result<Vec<i32>> {
        Ok(text.bytes().map(|b| i32::from(b) + 10).collect())
    }

    fn new_context(&self, spec: &ContextSpec) -> Result<Box<dyn EvalContext>> {
        self.counters.contexts.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(ScriptedContext {
            labels: self.labels.clone(),
            seqs: HashMap::new(),
            next_cell: 0,
            spec: *spec,
            counters: Arc::clone(&self.counters),
        }))
    }
}

struct ScriptedContext {
    labels: Vec<String>,
    /// Per sequence: (cell id, token) by position. Copies share cells, as in a unified KV cache.
    seqs: HashMap<i32, Vec<(usize, i32)>>,
    next_cell: usize,
    spec: ContextSpec,
    counters: Arc<Counters>,
}

impl ScriptedContext {
    fn logits(&self, history: &[i32], candidates: &[i32]) -> Vec<f32> {
        let text = decode(history);
        let user = text.rfind("user\n").map(|i| &text[i + 5..]).unwrap_or("");
        let query = user.split('\x02').next().unwrap_or("");
        let answer = text.rfind("assistant\n").map(|i| &text[i + 10..]).unwrap_or("");
        let target = self.labels.iter().find(|l| query.contains(l.as_str()));
        let wanted: Option<i32> = target.and_then(|t| {
            let full = format!("{t}\x02");
            full.strip_prefix(answer).and_then(|rest| rest.bytes().next()).map(|b| if b == 2 { EOT } else { i32::from(b) + 10 })
        });
        candidates.iter().map(|&c| if Some(c) == wanted { PREFERENCE } else { 0.0 }).collect()
    }
}

impl EvalContext for ScriptedContext {
    fn eval(&mut self, tokens: &[BatchToken], candidates: &[i32]) -> Result<Vec<f32>> {
        let n = self.counters.evals.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.counters.fail_eval.load(Ordering::SeqCst) {
            return Err(Error::new(Status::OutOfMemory, format!("injected fault at eval {n}: out of device memory")));
        }
        self.counters.tokens.fetch_add(tokens.len(), Ordering::SeqCst);
        if tokens.len() > self.spec.n_batch as usize {
            return Err(Error::new(Status::Backend, "batch larger than n_batch"));
        }
        let mut out = Vec::new();
        for t in tokens {
            if t.seq < 0 || t.seq >= self.spec.n_seq_max as i32 {
                return Err(Error::new(Status::Backend, format!("bad sequence {}", t.seq)));
            }
            let seq = self.seqs.entry(t.seq).or_default();
            if t.pos as usize != seq.len() {
                return Err(Error::new(Status::Backend, format!("sequence {} at position {} got a token for {}", t.seq, seq.len(), t.pos)));
            }
            seq.push((self.next_cell, t.token));
            self.next_cell += 1;
            if t.output {
                let history: Vec<i32> = seq.iter().map(|&(_, tok)| tok).collect();
                out.extend(self.logits(&history, candidates));
            }
        }
        let cells: std::collections::HashSet<usize> = self.seqs.values().flatten().map(|&(c, _)| c).collect();
        if cells.len() > self.spec.n_ctx as usize {
            return Err(Error::new(Status::OutOfMemory, format!("context full: {} cells of {}", cells.len(), self.spec.n_ctx)));
        }
        Ok(out)
    }

    fn seq_copy(&mut self, src: i32, dst: i32, p0: Option<i32>, p1: Option<i32>) -> Result<()> {
        assert!(p0.is_none() && p1.is_none(), "the engine copies whole sequences");
        let s = self.seqs.get(&src).cloned().unwrap_or_default();
        self.seqs.insert(dst, s);
        Ok(())
    }

    fn seq_remove(&mut self, seq: i32, p0: Option<i32>, p1: Option<i32>) -> Result<()> {
        assert!(p0.is_none() && p1.is_none(), "the engine removes whole sequences");
        self.seqs.remove(&seq);
        Ok(())
    }
}
