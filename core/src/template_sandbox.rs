//! The sandbox that runs a model's chat template (Jinja, from the model file).
//!
//! A template is a small program, and minijinja's fuel only counts its instructions: one
//! instruction can still build a huge value (`messages * 100000000`, `'x' * 99999999`,
//! `|indent(1000000000)`, `'%999999999d'|format(1)`) or print one. The sandbox closes
//! those doors:
//!
//! - **no loader**: `include`, `import` and `extends` find nothing, so no file is read;
//! - **fuel**: at most [`TEMPLATE_FUEL`] instructions per rendering;
//! - **no repetition or power**: a template that uses `*` or `**` is refused before it is
//!   compiled (minijinja folds constant expressions while compiling, so `'x' * 99999999`
//!   would build its 100 MB while the template is only being compiled);
//! - **a closed list of filters and methods** ([`ALLOWED_FILTERS`], [`ALLOWED_METHODS`]),
//!   each linear in its input; `join`, `replace` and `tojson` are bounded versions, and
//!   `map` may only apply filters of the list; any other filter or method is refused
//!   before the template runs;
//! - **bounded output**: rendering stops as soon as it has written more than
//!   [`MAX_OUTPUT_BYTES`].
//!
//! Left open: a template that concatenates a value with itself over and over (`~`, `+`
//! in a loop) doubles it with every instruction. Chat templates come with the model file,
//! which the threat model (SECURITY.md) counts as trusted.

use minijinja::machinery::{get_compiled_template, tokenize, Instruction, Instructions, Token, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, ErrorKind, State};

/// Template instructions one rendering may run (minijinja's fuel): a template that loops
/// longer is refused instead of hanging the caller. Real chat templates need a few hundred.
pub const TEMPLATE_FUEL: u64 = 200_000;

/// Most bytes a rendering may write, and most bytes a bounded filter may return.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// Widest `tojson` indentation a template may ask for (chat templates use 2 or 4).
pub const MAX_JSON_INDENT: usize = 16;

/// Filters a template may use: every one is linear in its input.
pub const ALLOWED_FILTERS: &[&str] = &[
    "abs", "attr", "bool", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float", "int", "items",
    "join", "last", "length", "lines", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse",
    "round", "safe", "select", "selectattr", "sort", "split", "string", "sum", "title", "tojson", "trim", "unique", "upper",
];

/// Python string and dict methods a template may call (`content.strip()`,
/// `message.get('role')`); `join` and `replace` are bounded.
pub const ALLOWED_METHODS: &[&str] = &[
    "capitalize", "count", "endswith", "find", "get", "isalnum", "isalpha", "isascii", "islower", "isspace", "isupper",
    "items", "join", "keys", "lower", "lstrip", "replace", "rfind", "rstrip", "split", "splitlines", "startswith", "strip",
    "title", "upper", "values",
];

/// Why a template is refused or its rendering failed.
#[derive(Debug)]
pub enum SandboxError {
    /// The template is not valid Jinja, raised an exception, or ran out of fuel.
    Template(minijinja::Error),
    /// The template uses something the sandbox does not run (named in the message).
    Refused(String),
    /// The rendering wrote more than [`MAX_OUTPUT_BYTES`].
    OutputTooLarge,
}

/// Renders `source` with `context` in the sandbox and returns the output.
pub fn render_sandboxed(source: &str, context: Value) -> Result<String, SandboxError> {
    check_operators(source)?;
    let mut env = environment();
    env.add_template("chat", source).map_err(SandboxError::Template)?;
    let tmpl = env.get_template("chat").map_err(SandboxError::Template)?;
    let compiled = get_compiled_template(&tmpl);
    check_instructions(&compiled.instructions)?;
    for block in compiled.blocks.values() {
        check_instructions(block)?;
    }
    let mut out = CappedOutput { bytes: Vec::new(), over: false };
    match tmpl.render_captured_to(context, &mut out) {
        Ok(_) => {}
        Err(_) if out.over => return Err(SandboxError::OutputTooLarge),
        Err(e) => return Err(SandboxError::Template(e)),
    }
    // The output is the concatenation of str pieces, so it is UTF-8.
    String::from_utf8(out.bytes).map_err(|_| SandboxError::Refused("the template wrote invalid UTF-8".into()))
}

/// The environment: no loader, fuel, Python methods behind the list, bounded filters.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_unknown_method_callback(call_method);
    env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
        Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
    });
    env.add_filter("join", |value: Value, joiner: Option<String>| bounded_join(&value, joiner.as_deref().unwrap_or("")));
    env.add_filter("replace", |value: String, from: String, to: String| bounded_replace(&value, &from, &to, None));
    env.add_filter("tojson", bounded_tojson);
    env.add_filter("map", checked_map);
    env
}

/// Refuses the operators `*` and `**` in the template's source, before it is compiled.
/// A source that does not lex is left to the compiler, which names the syntax error.
fn check_operators(source: &str) -> Result<(), SandboxError> {
    for token in tokenize(source, false, SyntaxConfig::default(), WhitespaceConfig::default()) {
        let Ok((token, span)) = token else { return Ok(()) };
        let op = match token {
            Token::Mul => "*",
            Token::Pow => "**",
            _ => continue,
        };
        return Err(SandboxError::Refused(format!(
            "the template uses `{op}` (line {}), which can repeat or grow a value without bound",
            span.start_line
        )));
    }
    Ok(())
}

/// Refuses filters and methods off the lists, before the template runs.
fn check_instructions(instructions: &Instructions<'_>) -> Result<(), SandboxError> {
    for idx in 0..instructions.len() as u32 {
        let line = instructions.get_line(idx).map(|l| format!(" (line {l})")).unwrap_or_default();
        match instructions.get(idx) {
            Some(Instruction::ApplyFilter(name, ..)) if !ALLOWED_FILTERS.contains(name) => {
                return Err(SandboxError::Refused(format!("the template uses the filter `{name}`{line}, which the sandbox does not run")))
            }
            Some(Instruction::CallMethod(name, ..)) if !ALLOWED_METHODS.contains(name) && !is_loop_method(name) => {
                return Err(SandboxError::Refused(format!("the template calls the method `{name}`{line}, which the sandbox does not run")))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `loop.cycle(...)` and `loop.changed(...)` are methods of the loop object, not of values.
fn is_loop_method(name: &str) -> bool {
    matches!(name, "cycle" | "changed")
}

/// Python methods of strings and maps, behind [`ALLOWED_METHODS`] and the size bounds.
fn call_method(state: &State, value: &Value, method: &str, args: &[Value]) -> Result<Value, minijinja::Error> {
    if !ALLOWED_METHODS.contains(&method) {
        return Err(minijinja::Error::new(ErrorKind::UnknownMethod, format!("the sandbox does not run the method `{method}`")));
    }
    if let Some(s) = value.as_str() {
        match (method, args) {
            ("join", [items]) => return bounded_join(items, s),
            ("replace", [from, to, rest @ ..]) if rest.len() <= 1 => {
                let (Some(from), Some(to)) = (from.as_str(), to.as_str()) else {
                    return Err(minijinja::Error::new(ErrorKind::InvalidOperation, "replace() takes strings"));
                };
                let count = match rest.first() {
                    Some(n) => usize::try_from(i64::try_from(n.clone())?).ok(),
                    None => None,
                };
                return bounded_replace(s, from, to, count);
            }
            _ => {}
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// `items|join(sep)` and `sep.join(items)`, refused once the result passes [`MAX_OUTPUT_BYTES`].
fn bounded_join(items: &Value, joiner: &str) -> Result<Value, minijinja::Error> {
    use std::fmt::Write;
    let mut out = String::new();
    let iter = items.try_iter()?;
    for (idx, item) in iter.enumerate() {
        if idx > 0 {
            out.push_str(joiner);
        }
        match item.as_str() {
            Some(s) => out.push_str(s),
            None => write!(out, "{item}").map_err(|_| too_large("join"))?,
        }
        if out.len() > MAX_OUTPUT_BYTES {
            return Err(too_large("join"));
        }
    }
    Ok(Value::from(out))
}

/// `s|replace(from, to)` and `s.replace(from, to[, count])`, refused when the result
/// would pass [`MAX_OUTPUT_BYTES`] (an empty `from` matches between every character).
fn bounded_replace(s: &str, from: &str, to: &str, count: Option<usize>) -> Result<Value, minijinja::Error> {
    let matches = if from.is_empty() { s.chars().count() + 1 } else { s.matches(from).count() };
    let matches = count.map_or(matches, |c| c.min(matches));
    let grown = (matches as u128) * (to.len() as u128);
    if s.len() as u128 + grown > MAX_OUTPUT_BYTES as u128 + (matches as u128) * (from.len() as u128) {
        return Err(too_large("replace"));
    }
    Ok(Value::from(match count {
        Some(c) => s.replacen(from, to, c),
        None => s.replace(from, to),
    }))
}

/// `tojson` with an indentation of at most [`MAX_JSON_INDENT`].
fn bounded_tojson(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, minijinja::Error> {
    let asked = indent.clone().or_else(|| kwargs.peek::<Option<Value>>("indent").ok().flatten());
    if let Some(n) = asked.as_ref().and_then(|v| v.as_i64()) {
        if n < 0 || n as usize > MAX_JSON_INDENT {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson indent {n} is outside 0..={MAX_JSON_INDENT}"),
            ));
        }
    }
    let json = minijinja::filters::tojson(value, indent, kwargs)?;
    if json.as_str().map_or(0, str::len) > MAX_OUTPUT_BYTES {
        return Err(too_large("tojson"));
    }
    Ok(json)
}

/// `map`, which may name a filter to apply: only filters of [`ALLOWED_FILTERS`].
fn checked_map(state: &State, value: Value, args: Rest<Value>) -> Result<Vec<Value>, minijinja::Error> {
    if let Some(name) = args.first().and_then(Value::as_str) {
        if !ALLOWED_FILTERS.contains(&name) {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("map() may not apply the filter `{name}`, which the sandbox does not run"),
            ));
        }
    }
    minijinja::filters::map(state, value, args)
}

fn too_large(what: &str) -> minijinja::Error {
    minijinja::Error::new(ErrorKind::InvalidOperation, format!("{what} would build more than {MAX_OUTPUT_BYTES} bytes"))
}

/// Collects the rendering and fails the write once it passes [`MAX_OUTPUT_BYTES`], which
/// stops the rendering even in the middle of printing one huge value.
struct CappedOutput {
    bytes: Vec<u8>,
    over: bool,
}

impl std::io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.over = true;
            return Err(std::io::Error::other("the chat template's output is over the limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_messages() -> Value {
        minijinja::context! {
            messages => vec![
                minijinja::context! { role => "system", content => "Be brief." },
                minijinja::context! { role => "user", content => "where is my parcel" },
            ],
            add_generation_prompt => true,
            bos_token => "<s>",
            eos_token => "</s>",
        }
    }

    fn render(source: &str) -> Result<String, SandboxError> {
        render_sandboxed(source, two_messages())
    }

    fn refusal(source: &str) -> String {
        match render(source) {
            Err(SandboxError::Refused(why)) => why,
            other => panic!("{source}: expected a refusal, got {other:?}"),
        }
    }

    fn template_error(source: &str) -> String {
        match render(source) {
            Err(SandboxError::Template(e)) => format!("{e:#}"),
            other => panic!("{source}: expected a template error, got {other:?}"),
        }
    }

    /// The shapes of widely used chat templates (Llama 3, Llama 3.1 with tools, Qwen with
    /// reasoning, Mistral) render in the sandbox.
    #[test]
    fn common_chat_templates_render() {
        let llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
        let out = render(llama3).unwrap();
        assert_eq!(out, "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nwhere is my parcel<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");

        let llama31 = "{{- bos_token }}{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = '' %}{%- endif %}{%- set tools = tools if tools is defined else none %}{{- '<|start_header_id|>system<|end_header_id|>\n\n' }}{%- if tools is not none %}{{- tools|tojson(indent=4) }}{%- endif %}{{- system_message }}{{- '<|eot_id|>' }}{%- for message in messages %}{%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}";
        let out = render(llama31).unwrap();
        assert!(out.starts_with("<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user"), "{out}");

        let qwen = "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}{%- for message in messages %}{%- set content = message.content.split('</think>')[-1].lstrip('\n') if message.content is string else '' %}{%- if message.role.startswith('sys') %}{{- '<|im_start|>system\n' + content.strip() + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}{%- endif %}{%- endfor %}{{- '<|im_start|>assistant\n' if add_generation_prompt else '' }}";
        assert_eq!(render(qwen).unwrap(), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nwhere is my parcel<|im_end|>\n<|im_start|>assistant\n");

        let mistral = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ '[SYS]' + message['content'] + '[/SYS]' }}{% elif (message['role'] == 'user') != (loop.index0 % 2 == 1) %}{{ raise_exception('roles must alternate') }}{% else %}{{ '[INST] ' + message['content'].replace('  ', ' ') + ' [/INST]' }}{% endif %}{% endfor %}{{ messages|map(attribute='role')|join(',') }}";
        assert_eq!(render(mistral).unwrap(), "<s>[SYS]Be brief.[/SYS][INST] where is my parcel [/INST]system,user");
    }

    #[test]
    fn repetition_and_power_are_refused_before_running() {
        for t in ["{{ messages * 33880000 }}", "{{ 'x' * 99999999 }}", "{% set n = 3 %}{{ n * n }}", "{{ 2 ** 10 }}", "{% if false %}{{ [1] * 9 }}{% endif %}"] {
            let why = refusal(t);
            assert!(why.contains('*'), "{t}: {why}");
        }
        assert!(refusal("{% block b %}{{ 'x' * 9 }}{% endblock %}").contains("`*`"));
    }

    #[test]
    fn filters_and_methods_off_the_list_are_refused() {
        for (t, name) in [
            ("{{ 'x'|indent(1000000000) }}", "indent"),
            ("{{ '%999999999d'|format(1) }}", "format"),
            ("{{ range(10)|batch(1000000000) }}", "batch"),
            ("{% if false %}{{ 'x'|urlencode }}{% endif %}", "urlencode"),
            ("{{ '{:>999999999}'.format(1) }}", "format"),
        ] {
            let why = refusal(t);
            assert!(why.contains(&format!("`{name}`")), "{t}: {why}");
        }
        for t in ["{% filter indent(1000000000) %}x{% endfilter %}", "{% set x %}{{ 1 }}{% endset %}{{ x|center(1000000000) }}"] {
            let why = refusal(t);
            assert!(why.contains("which the sandbox does not run"), "{t}: {why}");
        }
        // map() naming a filter is checked when it runs.
        let e = template_error("{{ ['x']|map('indent', 1000000000)|list }}");
        assert!(e.contains("`indent`"), "{e}");
        assert_eq!(render("{{ [' a ']|map('trim')|join }}").unwrap(), "a");
    }

    #[test]
    fn bounded_filters_refuse_huge_results() {
        let big_sep = format!("{{{{ range(100000)|join('{}') }}}}", "y".repeat(100));
        assert!(template_error(&big_sep).contains("join would build more than"));
        let big_sep_method = format!("{{{{ '{}'.join(range(100000)) }}}}", "y".repeat(100));
        assert!(template_error(&big_sep_method).contains("join would build more than"));
        let big_replace = format!("{{{{ range(20000)|join('ab')|replace('', '{}') }}}}", "z".repeat(100));
        assert!(template_error(&big_replace).contains("replace would build more than"));
        let big_replace_method = format!("{{{{ (range(20000)|join('ab')).replace('a', '{}') }}}}", "z".repeat(100));
        assert!(template_error(&big_replace_method).contains("replace would build more than"));
        assert!(template_error("{{ messages|tojson(indent=1000000000) }}").contains("indent"));
        assert!(template_error("{{ messages|tojson(100) }}").contains("indent"));
        // Within the bounds they behave as Jinja does.
        assert_eq!(render("{{ 'a-b-c'|replace('-', '+') }}|{{ 'a-b-c'.replace('-', '+', 1) }}|{{ '-'.join(['x', 1]) }}").unwrap(), "a+b+c|a+b-c|x-1");
        assert_eq!(render("{{ {'k': [1]}|tojson(indent=2) }}").unwrap(), "{\n  \"k\": [\n    1\n  ]\n}");
    }

    #[test]
    fn output_stops_at_the_limit() {
        // Each join is 488,890 bytes: two fit in the limit, three do not.
        let t = "{% for i in range(3) %}{{ range(100000)|join }}{% endfor %}";
        assert!(matches!(render(t), Err(SandboxError::OutputTooLarge)));
        assert_eq!(render("{% for i in range(2) %}{{ range(100000)|join }}{% endfor %}").unwrap().len(), 2 * 488_890);
    }

    #[test]
    fn fuel_stops_endless_loops_and_no_file_is_read() {
        let e = template_error("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
        assert!(e.contains("fuel"), "{e}");
        for t in ["{% include '/etc/passwd' %}", "{% import '/etc/hostname' as x %}", "{% extends '/etc/passwd' %}"] {
            let e = template_error(t);
            assert!(e.contains("not found") && !e.contains("root:"), "{t}: {e}");
        }
    }
}
