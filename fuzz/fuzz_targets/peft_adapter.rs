//! PEFT LoRA adapters: `adapter_config.json` and the safetensors header and data of
//! `adapter_model.safetensors`. Input: a little-endian u16 length, that many bytes of
//! config text, then the safetensors bytes.
//!
//! Properties: no panic, no unbounded allocation; every accepted update has A of
//! `r x n_in` and B of `n_out x r` values.
#![no_main]

use intent_prepare::lora::Adapter;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
    let Ok(config) = std::str::from_utf8(&data[2..2 + n]) else { return };
    let Ok(adapter) = Adapter::from_bytes(config, &data[2 + n..], Path::new("fuzz")) else { return };
    assert!(!adapter.updates.is_empty());
    assert!(adapter.scale.is_finite() || !adapter.config.lora_alpha.is_finite());
    for (name, u) in &adapter.updates {
        assert_eq!(u.a.len(), u.r * u.n_in, "{name}: A");
        assert_eq!(u.b.len(), u.n_out * u.r, "{name}: B");
    }
});
