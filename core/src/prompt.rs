//! Prompts: the zero-shot instruction for a taxonomy, rendered through the model's own
//! chat template, and split into the fixed prefix (evaluated once per engine) and the
//! per-query suffix.

use crate::error::{Error, Result, Status};
use crate::taxonomy::Taxonomy;
use crate::template_sandbox::{render_sandboxed, SandboxError, MAX_OUTPUT_BYTES};

/// The ChatML template, used only when a model carries no template of its own.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Most bytes a rendered prompt may have: a template that renders more is refused.
pub const MAX_PROMPT_BYTES: usize = MAX_OUTPUT_BYTES;

/// A marker that stands for the query while the template is rendered.
const QUERY_MARKER: &str = "\u{1}INTENT_QUERY\u{1}";

/// The system prompt of the zero-shot classifier: the task and every intent with its description.
pub fn zero_shot_system_prompt(taxonomy: &Taxonomy) -> String {
    let mut s = String::from(
        "You classify messages that customers write to an online shop. \
         Reply with exactly one intent label from this list, and nothing else.\n\nIntents:\n",
    );
    for intent in &taxonomy.intents {
        s.push_str("- ");
        s.push_str(&intent.label);
        s.push_str(": ");
        s.push_str(intent.description.trim());
        s.push('\n');
    }
    s.push_str("\nThe message may be in any language. Reply with the label only.");
    s
}

/// A chat prompt split around the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPrompt {
    /// Text before the query: system turn and the opening of the user turn.
    pub prefix: String,
    /// Text after the query: the end of the user turn and the opening of the answer.
    pub suffix: String,
    /// Whether the model's own template was used (false: the ChatML fallback).
    pub own_template: bool,
}

/// How the answer is placed after the user turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerPlacement {
    /// The zero-shot prompt: the template's generation prompt (the assistant's opening)
    /// follows the user turn, as in a chat.
    AssistantTurn,
    /// The fine-tuned prompt: no generation prompt, trailing whitespace after the user
    /// turn removed; the model was trained to answer right after the end of the user
    /// turn, so a query costs only the tokens of that end.
    AfterUserTurn,
}

/// Renders `system` and a user turn through `template` (Jinja, as Hugging Face chat
/// templates are written) and splits the result at the query.
pub fn render(
    template: Option<&str>,
    system: &str,
    bos_text: Option<&str>,
    eos_text: Option<&str>,
    placement: AnswerPlacement,
) -> Result<SplitPrompt> {
    let own_template = template.is_some();
    let context = minijinja::context! {
        messages => vec![
            minijinja::context! { role => "system", content => system },
            minijinja::context! { role => "user", content => QUERY_MARKER },
        ],
        add_generation_prompt => placement == AnswerPlacement::AssistantTurn,
        bos_token => bos_text.unwrap_or(""),
        eos_token => eos_text.unwrap_or(""),
    };
    let rendered = render_sandboxed(template.unwrap_or(CHATML_TEMPLATE), context).map_err(|e| match e {
        SandboxError::Template(e) => Error::new(Status::InvalidModel, format!("the model's chat template cannot be rendered: {e}")),
        SandboxError::Refused(why) => Error::new(Status::InvalidModel, format!("the model's chat template is refused: {why}")),
        SandboxError::OutputTooLarge => {
            Error::new(Status::InvalidModel, format!("the model's chat template renders more than {MAX_PROMPT_BYTES} bytes, over the limit"))
        }
        SandboxError::NoThread(e) => Error::new(Status::Internal, format!("cannot start the thread that renders the chat template: {e}")),
    })?;
    let mut parts = rendered.split(QUERY_MARKER);
    let (Some(prefix), Some(suffix), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::new(Status::InvalidModel, "the model's chat template does not place the user message exactly once"));
    };
    if !prefix.contains(system) {
        return Err(Error::new(Status::InvalidModel, "the model's chat template drops the system message"));
    }
    let suffix = match placement {
        AnswerPlacement::AssistantTurn => suffix,
        AnswerPlacement::AfterUserTurn => suffix.trim_end(),
    };
    Ok(SplitPrompt { prefix: prefix.to_string(), suffix: suffix.to_string(), own_template })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn smollm2_template_splits_around_the_query() {
        let p = render(Some(SMOLLM2), "SYS", None, None, AnswerPlacement::AssistantTurn).unwrap();
        assert_eq!(p.prefix, "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\n");
        assert_eq!(p.suffix, "<|im_end|>\n<|im_start|>assistant\n");
        assert!(p.own_template);
    }

    #[test]
    fn the_fine_tuned_placement_ends_at_the_user_turn() {
        let p = render(Some(SMOLLM2), "SYS", None, None, AnswerPlacement::AfterUserTurn).unwrap();
        assert_eq!(p.prefix, "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\n");
        assert_eq!(p.suffix, "<|im_end|>");
    }

    #[test]
    fn missing_template_falls_back_to_chatml() {
        let p = render(None, "SYS", None, None, AnswerPlacement::AssistantTurn).unwrap();
        assert_eq!(p.suffix, "<|im_end|>\n<|im_start|>assistant\n");
        assert!(!p.own_template);
    }

    #[test]
    fn broken_templates_are_errors() {
        assert_eq!(render(Some("{% for %}"), "S", None, None, AnswerPlacement::AssistantTurn).unwrap_err().status, Status::InvalidModel);
        let e = render(Some("{{ raise_exception('no system role') }}"), "S", None, None, AnswerPlacement::AssistantTurn).unwrap_err();
        assert!(e.message.contains("no system role"), "{}", e.message);
        assert!(render(Some("{{ messages[1]['content'] }}"), "S", None, None, AnswerPlacement::AssistantTurn).unwrap_err().message.contains("system"));
    }

    #[test]
    fn templates_cannot_read_files_loop_forever_or_grow_without_bound() {
        for t in ["{% include '/etc/passwd' %}", "{% import '/etc/hostname' as x %}", "{% extends '/etc/passwd' %}"] {
            let e = render(Some(t), "S", None, None, AnswerPlacement::AssistantTurn).unwrap_err();
            assert_eq!(e.status, Status::InvalidModel, "{t}: {}", e.message);
            assert!(!e.message.contains("root:"), "{}", e.message);
        }
        let endless = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}";
        let e = render(Some(endless), "S", None, None, AnswerPlacement::AssistantTurn).unwrap_err();
        assert!(e.message.contains("fuel"), "{}", e.message);
        let huge = "{% for i in range(30) %}{{ range(10000)|join }}{% endfor %}{% for m in messages %}{{ m['content'] }}{% endfor %}";
        let e = render(Some(huge), "SYSTEM PROMPT", None, None, AnswerPlacement::AssistantTurn).unwrap_err();
        assert!(e.message.contains("over the limit"), "{}", e.message);
        // Found by the fuzzer (fuzz/corpus/prompt): one instruction that repeats the messages
        // 33,880,000 times and prints them; it used to run for minutes.
        let repeated = "{!{{messages*33880000}}\"";
        let e = render(Some(repeated), "", None, None, AnswerPlacement::AfterUserTurn).unwrap_err();
        assert_eq!(e.status, Status::InvalidModel);
        assert!(e.message.contains("refused") && e.message.contains("`*`"), "{}", e.message);
    }

    #[test]
    fn system_prompt_lists_every_intent() {
        let t = Taxonomy::ecommerce_v1();
        let s = zero_shot_system_prompt(&t);
        for i in &t.intents {
            assert!(s.contains(&format!("- {}: {}", i.label, i.description)));
        }
    }
}
