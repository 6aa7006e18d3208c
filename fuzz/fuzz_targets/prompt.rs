//! Prompt rendering through a model's chat template (Jinja), which comes from the model
//! file: a template, a system prompt and the BOS/EOS texts, all arbitrary.
//!
//! Properties: rendering never panics, hangs or reads a file (the template sandbox: no
//! loader, fuel, no `*`, bounded filters, bounded output); an accepted prompt holds the
//! system prompt in its prefix, stays within the size limit, and in the fine-tuned
//! placement ends without whitespace.
#![no_main]

use arbitrary::Arbitrary;
use intent_core::prompt::{render, AnswerPlacement, MAX_PROMPT_BYTES};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    template: Option<&'a str>,
    system: &'a str,
    bos: Option<&'a str>,
    eos: Option<&'a str>,
    fine_tuned: bool,
}

fuzz_target!(|input: Input<'_>| {
    let placement = if input.fine_tuned { AnswerPlacement::AfterUserTurn } else { AnswerPlacement::AssistantTurn };
    let Ok(p) = render(input.template, input.system, input.bos, input.eos, placement) else { return };
    assert!(p.prefix.contains(input.system), "the system prompt is in the prefix");
    assert!(p.prefix.len() + p.suffix.len() <= MAX_PROMPT_BYTES, "prompt of {} bytes", p.prefix.len() + p.suffix.len());
    if input.fine_tuned {
        assert_eq!(p.suffix, p.suffix.trim_end());
    }
    assert_eq!(p.own_template, input.template.is_some());
});
