//! GPTQ checkpoint descriptions, as the engine reads them to tell a GPTQ directory from
//! other models: the project's one reader is `intent-gptq-format`.

pub use intent_gptq_format::{GptqConfig, ZeroFormat};

impl From<intent_gptq_format::Error> for crate::error::Error {
    fn from(e: intent_gptq_format::Error) -> Self {
        use crate::error::Status;
        let status = match e.status {
            intent_gptq_format::Status::UnsupportedModel => Status::UnsupportedModel,
            intent_gptq_format::Status::InvalidModel => Status::InvalidModel,
            intent_gptq_format::Status::Io => Status::Io,
        };
        crate::error::Error::new(status, e.message)
    }
}
