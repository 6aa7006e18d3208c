//! GPTQ checkpoints in the AutoGPTQ / GPTQModel / transformers layout, read once for the
//! whole project: the description (`config`: `quantize_config.json` and its other places),
//! and a layer's tensors (`layer`: decoding, act-order, the int4 kernel's layout). The
//! engine (format detection), the model pipeline (the export) and the GPU plugins use it.

#![deny(missing_docs)]

pub mod config;
pub mod layer;

pub use config::{GptqConfig, ZeroFormat};
pub use layer::{Int4Packed, PackedTensors, QuantLinear};

/// What kind of problem an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A valid GPTQ variant this project does not read.
    UnsupportedModel,
    /// A description or tensor that is not valid.
    InvalidModel,
    /// A file that could not be read.
    Io,
}

/// An error that names the file, field or tensor and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The kind of problem.
    pub status: Status,
    /// What is wrong, for people.
    pub message: String,
}

impl Error {
    /// An error of `status` saying `message`.
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
