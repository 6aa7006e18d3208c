//! libintent's core: the intent-engine interface, taxonomies, prompts with a cached
//! prefix, label-constrained scoring, and the host side of the backend plugin ABI.
//!
//! The classification logic lives here once; backends only tokenize and evaluate
//! (see [`backend`]). Open an engine with [`open::open`]:
//!
//! ```no_run
//! use intent_core::{open, ClassifyOptions, IntentEngine, OpenOptions};
//! let engine = open(&OpenOptions::default())?;
//! let result = engine.classify("wo ist mein Paket??", &ClassifyOptions::default())?;
//! println!("{} {:.2}", result.intent, result.confidence);
//! # Ok::<(), intent_core::Error>(())
//! ```

#![deny(missing_docs)]

pub mod backend;
#[cfg(test)]
mod fixture;
pub mod engine;
pub mod error;
pub mod gguf;
pub mod gptq;
pub mod manifest;
pub mod open;
pub mod plugin;
pub mod prompt;
pub mod taxonomy;
pub mod template_sandbox;
pub mod trie;

pub use engine::{Classification, ClassifyOptions, Engine, EngineConfig, IntentEngine, LabelScore, Timings};
pub use error::{Error, Result, Status};
pub use manifest::ModelManifest;
pub use open::{open, OpenOptions};
pub use taxonomy::{Intent, Taxonomy};

/// The library version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
