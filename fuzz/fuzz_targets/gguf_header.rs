//! GGUF headers (metadata and tensor table) through both of the project's readers: the
//! engine's bounded header check (`intent_core::gguf`) and the full reader of model
//! preparation (`intent_prepare::gguf_file`).
//!
//! Properties: no panic, no unbounded allocation from counts in the file; what the check
//! accepts ends inside the file; what the full reader accepts is written back to bytes
//! that read the same.
#![no_main]

use intent_prepare::gguf_file::GgufFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(summary) = intent_core::gguf::inspect_reader(data, data.len() as u64) {
        assert!(summary.data_end <= data.len() as u64, "tensor data ends at {} past {}", summary.data_end, data.len());
    }
    if let Ok(file) = GgufFile::parse(data) {
        let bytes = file.to_bytes();
        let again = GgufFile::parse(&bytes).expect("what was read is written back readable");
        assert_eq!(again.to_bytes(), bytes, "a second round trip changes nothing");
    }
});
