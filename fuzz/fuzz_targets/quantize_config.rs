//! GPTQ descriptions (`quantize_config.json`, or `config.json`'s `quantization_config`).
//!
//! Properties: no panic; what is accepted has 4 or 8 bits and a positive group size (or
//! per-column groups), and is written back to JSON that reads the same.
#![no_main]

use intent_core::gptq::GptqConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(c) = GptqConfig::from_json(text) else { return };
    assert!(c.bits == 4 || c.bits == 8);
    assert!(c.group_size.is_none_or(|g| g > 0));
    assert_eq!(GptqConfig::from_json(&c.to_json()).expect("what was accepted reads back"), c);
    let _ = c.check_shape("layer", 576, 576);
});
