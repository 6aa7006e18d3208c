//! The engine's error type and its stable status codes.

/// Stable status codes. They are part of the C API (`INTENT_STATUS_*`) and never renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required argument was missing or malformed (NULL pointer, bad struct size, bad option).
    InvalidArgument = 1,
    /// Text was not valid UTF-8.
    InvalidUtf8 = 2,
    /// The query was empty or only whitespace.
    EmptyQuery = 3,
    /// The query was longer than the configured limit (and truncation was off).
    QueryTooLong = 4,
    /// A label was not in the engine's taxonomy.
    UnknownLabel = 5,
    /// The allowed label set was empty.
    EmptyLabelSet = 6,
    /// A taxonomy could not be read or was malformed.
    InvalidTaxonomy = 7,
    /// The model file or directory does not exist.
    ModelNotFound = 8,
    /// The model file is truncated, corrupt or not a model.
    InvalidModel = 9,
    /// The model is valid but of an architecture or format no backend supports.
    UnsupportedModel = 10,
    /// No backend plugin with the requested name (or for this model) was found.
    PluginNotFound = 11,
    /// A plugin was built for another ABI major version.
    PluginAbiMismatch = 12,
    /// A plugin cannot run on this machine (for example: no CUDA device).
    PluginUnavailable = 13,
    /// The backend failed while evaluating.
    Backend = 14,
    /// Memory could not be allocated, or a batch does not fit the configured limits.
    OutOfMemory = 15,
    /// An internal error (a caught panic or a broken invariant).
    Internal = 16,
    /// A file could not be read or written.
    Io = 17,
    /// The handle was already closed.
    Closed = 18,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 19] = [
        Status::Ok,
        Status::InvalidArgument,
        Status::InvalidUtf8,
        Status::EmptyQuery,
        Status::QueryTooLong,
        Status::UnknownLabel,
        Status::EmptyLabelSet,
        Status::InvalidTaxonomy,
        Status::ModelNotFound,
        Status::InvalidModel,
        Status::UnsupportedModel,
        Status::PluginNotFound,
        Status::PluginAbiMismatch,
        Status::PluginUnavailable,
        Status::Backend,
        Status::OutOfMemory,
        Status::Internal,
        Status::Io,
        Status::Closed,
    ];

    /// The numeric code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status for a numeric code, if it is one.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// A short, static description.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::InvalidArgument => "invalid argument",
            Status::InvalidUtf8 => "text is not valid UTF-8",
            Status::EmptyQuery => "query is empty",
            Status::QueryTooLong => "query is longer than the configured limit",
            Status::UnknownLabel => "label is not in the taxonomy",
            Status::EmptyLabelSet => "the allowed label set is empty",
            Status::InvalidTaxonomy => "taxonomy is malformed",
            Status::ModelNotFound => "model not found",
            Status::InvalidModel => "model file is truncated or corrupt",
            Status::UnsupportedModel => "model architecture or format is not supported",
            Status::PluginNotFound => "no backend plugin found",
            Status::PluginAbiMismatch => "backend plugin was built for another ABI version",
            Status::PluginUnavailable => "backend plugin cannot run on this machine",
            Status::Backend => "backend failure",
            Status::OutOfMemory => "out of memory or over a configured limit",
            Status::Internal => "internal error",
            Status::Io => "I/O error",
            Status::Closed => "handle is closed",
        }
    }
}

/// An error: a [`Status`] and a message naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The status code.
    pub status: Status,
    /// The message.
    pub message: String,
}

impl Error {
    /// Builds an error.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_and_round_trip() {
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(s.code(), i as i32);
            assert_eq!(Status::from_code(i as i32), Some(*s));
            assert!(!s.as_str().is_empty());
        }
        assert_eq!(Status::from_code(-1), None);
        assert_eq!(Status::from_code(Status::ALL.len() as i32), None);
    }
}
