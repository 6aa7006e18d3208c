//! The sandbox that runs a model's chat template (Jinja, from the model file).
//!
//! A template is a small program, and minijinja's fuel only counts its instructions: one
//! instruction can still build a huge value (`messages * 100000000`, `'x' * 99999999`,
//! `|indent(1000000000)`, `'%999999999d'|format(1)`) or print one. The sandbox closes
//! those doors:
//!
//! - **no loader**: `include`, `import` and `extends` find nothing, so no file is read;
//! - **a bounded source**: at most [`MAX_TEMPLATE_BYTES`], and at most [`MAX_TAG_TOKENS`]
//!   tokens in one `{{ }}` or `{% %}` (minijinja compiles long operator, filter and
//!   attribute chains recursively and in quadratic time: a 600 KB chain overflows the
//!   stack and aborts the process);
//! - **fuel**: at most [`TEMPLATE_FUEL`] instructions per rendering;
//! - **no repetition or power**: a template that uses `*` or `**` is refused before it is
//!   compiled (minijinja folds constant expressions while compiling, so `'x' * 99999999`
//!   would build its 100 MB while the template is only being compiled);
//! - **a closed list of filters and methods** ([`ALLOWED_FILTERS`], [`ALLOWED_METHODS`]),
//!   each linear in its input; `join`, `replace` and `tojson` are bounded versions, and
//!   `map` may only apply filters of the list; any other filter or method is refused
//!   before the template runs;
//! - **namespaces only as `ns.attr`**: a namespace is the only value a template can
//!   change, so a bare reference to one is refused, and no value can contain itself;
//! - **a work budget**: every filter, test and method call (and `raise_exception`) pays
//!   for what it reads (bytes of
//!   strings, items of sequences and maps, each nesting level of `tojson`'s indent), for
//!   its value times its arguments (an argument may be used once per item: `select('in',
//!   s)`, `attribute=` paths, `trim(chars)`) and for what it returns; every value printed
//!   pays for itself too, also inside `{% set %}` blocks, macros and `{% filter %}`, whose
//!   output does not reach the output limit. All out of [`WORK_BUDGET`] for the whole
//!   rendering, so a loop of "linear" filters over large values stops early;
//! - **bounded output**: rendering stops as soon as it has written more than
//!   [`MAX_OUTPUT_BYTES`];
//! - **its own thread**, with a [`RENDER_STACK_BYTES`] stack: minijinja prints, serializes
//!   and drops nested values recursively, and a value nested a few thousand levels deep
//!   (each level costs an instruction) would overflow a small host thread's stack, which
//!   aborts the process.
//!
//! Left open: operators have no hook. `~`, `+` and namespace assignment can build values
//! across instructions: a value joined with itself again and again doubles each time, and
//! a list that gathers a large string on every loop iteration grows by that string each
//! time (within the fuel), and a list that holds the previous one twice (`[x, x]`, 40
//! times) is small in memory but exponential to write out. The filters pay for such a
//! value as written out, but the operators `==`, `in`, `~`, a map lookup by such a key and
//! `loop.changed` walk it unpaid, which can take practically forever or exhaust memory. Chat templates come with
//! the model file, which the threat model (SECURITY.md) counts as trusted.

use minijinja::machinery::{get_compiled_template, tokenize, Instruction, Instructions, Token, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{from_args, Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, ErrorKind, State};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Template instructions one rendering may run (minijinja's fuel): a template that loops
/// longer is refused instead of hanging the caller. The chat templates of
/// `common_chat_templates_render` need under 300 for two messages.
pub const TEMPLATE_FUEL: u64 = 4_000;

/// Most bytes of template source.
pub const MAX_TEMPLATE_BYTES: usize = 64 << 10;

/// Most tokens between `{{` and `}}` or `{%` and `%}` (chat templates use under 100).
pub const MAX_TAG_TOKENS: usize = 512;

/// Work units (bytes of strings, items of sequences and maps) that the filters and methods
/// of one rendering may read, together.
pub const WORK_BUDGET: usize = 16 << 20;

/// Most numbers `range` may make.
pub const MAX_RANGE: usize = 10_000;

/// Stack of the thread that renders: nesting is bounded by the fuel, and minijinja needs a
/// few hundred bytes of stack per level to print, serialize or drop a nested value.
pub const RENDER_STACK_BYTES: usize = 64 << 20;

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

/// minijinja's tests (`x is defined`, `select('in', s)`): each pays from the work budget
/// like a filter.
const BUILTIN_TESTS: &[&str] = &[
    "undefined", "defined", "none", "safe", "escaped", "boolean", "odd", "even", "divisibleby", "number", "integer", "int",
    "float", "string", "sequence", "iterable", "mapping", "startingwith", "endingwith", "lower", "upper", "sameas", "eq",
    "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "true",
    "false", "filter", "test",
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
    /// The rendering thread could not be started.
    NoThread(std::io::Error),
}

/// Renders `source` with `context` in the sandbox and returns the output. The rendering
/// runs on a thread of its own (see [`RENDER_STACK_BYTES`]); the caller waits for it.
pub fn render_sandboxed(source: &str, context: Value) -> Result<String, SandboxError> {
    check_source(source)?;
    let source = source.to_owned();
    let renderer = std::thread::Builder::new()
        .name("intent-chat-template".into())
        .stack_size(RENDER_STACK_BYTES)
        .spawn(move || render_on_this_thread(&source, context))
        .map_err(SandboxError::NoThread)?;
    renderer
        .join()
        .unwrap_or_else(|_| Err(SandboxError::Refused("the template made the renderer panic".into())))
}

fn render_on_this_thread(source: &str, context: Value) -> Result<String, SandboxError> {
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

/// The environment: no loader, fuel, a capped `range`, and every filter and method behind
/// the lists and the work budget.
fn environment() -> Environment<'static> {
    let budget = Budget(Arc::new(AtomicUsize::new(WORK_BUDGET)));
    let mut env = Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    // `debug()` prints the whole context, unpaid and uncapped.
    env.remove_global("debug");
    let printing = budget.clone();
    env.set_formatter(move |out, state, value| {
        printing.charge(value, 0)?;
        minijinja::escape_formatter(out, state, value)
    });
    let raising = budget.clone();
    env.add_function("raise_exception", move |msg: Value| -> Result<String, minijinja::Error> {
        raising.charge(&msg, 0)?;
        Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg.to_string()))
    });
    env.add_function("range", |lower: isize, upper: Option<isize>, step: Option<isize>| {
        let numbers = minijinja::functions::range(lower, upper, step)?;
        match numbers.len() {
            Some(n) if n <= MAX_RANGE => Ok(numbers),
            _ => Err(minijinja::Error::new(ErrorKind::InvalidOperation, format!("range() may make at most {MAX_RANGE} numbers"))),
        }
    });
    for &name in ALLOWED_FILTERS {
        let budget = budget.clone();
        env.add_filter(name, move |state: &State, value: Value, args: Rest<Value>| -> Result<Value, minijinja::Error> {
            budget.charge_call(&value, &args)?;
            let result = apply_filter(state, &budget, name, value, &args)?;
            budget.charge(&result, 0)?;
            Ok(result)
        });
    }
    for &name in BUILTIN_TESTS {
        let budget = budget.clone();
        env.add_test(name, move |value: Value, args: Rest<Value>| -> Result<bool, minijinja::Error> {
            budget.charge_call(&value, &args)?;
            if name == "divisibleby" && args.first().and_then(Value::as_i64).is_none_or(|d| d == 0 || d == -1) {
                // minijinja divides without checking: by zero (and i128::MIN by -1) it panics.
                return Err(minijinja::Error::new(ErrorKind::InvalidOperation, "divisibleby() needs a divisor other than 0 and -1"));
            }
            builtin_filters().empty_state().perform_test(name, &value_then_args(value, &args))
        });
    }
    env.set_unknown_method_callback(move |state: &State, value: &Value, method: &str, args: &[Value]| {
        budget.charge_call(value, args)?;
        let result = call_method(state, value, method, args)?;
        budget.charge(&result, 0)?;
        Ok(result)
    });
    env
}

/// Runs filter `name` (of [`ALLOWED_FILTERS`], already paid for): the bounded versions
/// here, the others as minijinja's own.
fn apply_filter(state: &State, budget: &Budget, name: &str, value: Value, args: &[Value]) -> Result<Value, minijinja::Error> {
    match name {
        "join" => {
            let (joiner,): (Option<&str>,) = from_args(args)?;
            bounded_join(&value, joiner.unwrap_or(""))
        }
        "replace" => {
            let (from, to): (&str, &str) = from_args(args)?;
            bounded_replace(&value.to_string(), from, to, None)
        }
        "tojson" => {
            let (indent, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
            bounded_tojson(budget, &value, indent, kwargs)
        }
        "map" => checked_map(state, value, args),
        _ => {
            let call = value_then_args(value, args);
            // These apply tests by name: run them in this environment, so that the tests
            // are the paid ones.
            let selecting = match name {
                "select" => Some(Value::from_function(minijinja::filters::select)),
                "reject" => Some(Value::from_function(minijinja::filters::reject)),
                "selectattr" => Some(Value::from_function(minijinja::filters::selectattr)),
                "rejectattr" => Some(Value::from_function(minijinja::filters::rejectattr)),
                _ => None,
            };
            match selecting {
                Some(filter) => filter.call(state, &call),
                None => builtin_filters().empty_state().apply_filter(name, &call),
            }
        }
    }
}

/// The arguments of a filter or test called by name: the value, then the rest.
fn value_then_args(value: Value, args: &[Value]) -> Vec<Value> {
    let mut call = Vec::with_capacity(args.len() + 1);
    call.push(value);
    call.extend_from_slice(args);
    call
}

/// minijinja's own filters and tests, reached only through the paid wrappers.
fn builtin_filters() -> &'static Environment<'static> {
    static BUILTINS: OnceLock<Environment<'static>> = OnceLock::new();
    BUILTINS.get_or_init(Environment::new)
}

/// What is left of [`WORK_BUDGET`] in one rendering.
#[derive(Clone)]
struct Budget(Arc<AtomicUsize>);

impl Budget {
    /// Pays for reading `value`: one unit per item, key and string byte, plus
    /// `per_level` units per nesting level of each item. The walk stops as soon as the
    /// budget is spent, so a huge (or lazily repeated) value costs no more than the budget.
    /// Returns the units paid.
    fn charge(&self, value: &Value, per_level: usize) -> Result<usize, minijinja::Error> {
        let mut paid = 0usize;
        let mut pay = |units: usize| -> Result<(), minijinja::Error> {
            self.take(units)?;
            paid = paid.saturating_add(units);
            Ok(())
        };
        let mut pending = vec![(value.clone(), 0usize)];
        while let Some((value, depth)) = pending.pop() {
            pay(1usize.saturating_add(depth.saturating_mul(per_level)))?;
            match value.kind() {
                ValueKind::String => pay(value.as_str().map_or(0, str::len))?,
                ValueKind::Bytes => pay(value.as_bytes().map_or(0, <[u8]>::len))?,
                ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => {
                    let is_map = value.kind() == ValueKind::Map;
                    let Ok(items) = value.try_iter() else { continue };
                    for item in items {
                        pay(1)?;
                        if is_map {
                            let entry = value.get_item(&item).unwrap_or_default();
                            pending.push((entry, depth + 1));
                        }
                        pending.push((item, depth + 1));
                    }
                }
                _ => {}
            }
        }
        Ok(paid)
    }

    /// Pays for a filter or method call: its value, its arguments, and the value times
    /// the arguments, since a filter may use its arguments once per item or character.
    fn charge_call(&self, value: &Value, args: &[Value]) -> Result<(), minijinja::Error> {
        let of_value = self.charge(value, 0)?;
        let mut of_args = 0usize;
        for arg in args {
            of_args = of_args.saturating_add(self.charge(arg, 0)?);
        }
        self.take(of_value.saturating_mul(of_args))
    }

    fn take(&self, units: usize) -> Result<(), minijinja::Error> {
        let left = self.0.load(Ordering::Relaxed);
        if units > left {
            self.0.store(0, Ordering::Relaxed);
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("the template's filters read more than the work budget of {WORK_BUDGET} units"),
            ));
        }
        self.0.store(left - units, Ordering::Relaxed);
        Ok(())
    }
}

/// Checks the source before it is compiled: its size, the tokens of each tag, and the
/// operators `*` and `**`. A source that does not lex is left to the compiler, which
/// names the syntax error.
fn check_source(source: &str) -> Result<(), SandboxError> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(SandboxError::Refused(format!("the template has {} bytes, over the limit of {MAX_TEMPLATE_BYTES}", source.len())));
    }
    let mut in_tag = 0usize;
    for token in tokenize(source, false, SyntaxConfig::default(), WhitespaceConfig::default()) {
        let Ok((token, span)) = token else { return Ok(()) };
        let line = span.start_line;
        match token {
            Token::Mul | Token::Pow => {
                let op = if matches!(token, Token::Mul) { "*" } else { "**" };
                return Err(SandboxError::Refused(format!(
                    "the template uses `{op}` (line {line}), which can repeat or grow a value without bound"
                )));
            }
            Token::VariableStart | Token::BlockStart => in_tag = 0,
            Token::VariableEnd | Token::BlockEnd | Token::TemplateData(_) => {}
            _ => {
                in_tag += 1;
                if in_tag > MAX_TAG_TOKENS {
                    return Err(SandboxError::Refused(format!(
                        "a tag of the template (line {line}) has more than {MAX_TAG_TOKENS} tokens"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Refuses filters and methods off the lists, and namespaces used other than as
/// `ns.attr`, before the template runs. A namespace is the only value a template can
/// change after making it: stored into itself (`{% set ns.x = ns %}`) it would contain
/// itself, and printing, comparing or dropping it would recurse until the stack overflows.
fn check_instructions(instructions: &Instructions<'_>) -> Result<(), SandboxError> {
    let line = |idx: u32| instructions.get_line(idx).map(|l| format!(" (line {l})")).unwrap_or_default();
    let refuse = |why: String| Err(SandboxError::Refused(why));
    // First the names namespaces are stored under, wherever the template uses them.
    let mut namespaces = Vec::new();
    for idx in 0..instructions.len() as u32 {
        if let Some(Instruction::CallFunction("namespace", _)) = instructions.get(idx) {
            match instructions.get(idx + 1) {
                Some(Instruction::StoreLocal(name)) => namespaces.push(*name),
                _ => return refuse(format!("the template uses `namespace()` other than as `{{% set ns = namespace(...) %}}`{}", line(idx))),
            }
        }
    }
    for idx in 0..instructions.len() as u32 {
        match instructions.get(idx) {
            Some(Instruction::Lookup("namespace")) => {
                return refuse(format!("the template refers to `namespace` without calling it{}", line(idx)))
            }
            Some(Instruction::Lookup(name))
                if namespaces.contains(name)
                    && !matches!(instructions.get(idx + 1), Some(Instruction::GetAttr(_) | Instruction::SetAttr(_))) =>
            {
                return refuse(format!("the template uses the namespace `{name}` other than as `{name}.attribute`{}", line(idx)))
            }
            Some(Instruction::ApplyFilter(name, ..)) if !ALLOWED_FILTERS.contains(name) => {
                return refuse(format!("the template uses the filter `{name}`{}, which the sandbox does not run", line(idx)))
            }
            // minijinja divides by the number of arguments of `loop.cycle()`.
            Some(Instruction::CallMethod("cycle", Some(0 | 1))) => {
                return refuse(format!("the template calls `loop.cycle()` without arguments{}", line(idx)))
            }
            Some(Instruction::CallMethod(name, ..)) if !ALLOWED_METHODS.contains(name) && !is_loop_method(name) => {
                return refuse(format!("the template calls the method `{name}`{}, which the sandbox does not run", line(idx)))
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
            // minijinja-contrib's `count` never ends on an empty needle; Python counts
            // the positions between characters.
            ("count", [what]) if what.as_str() == Some("") => return Ok(Value::from(s.chars().count() + 1)),
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

/// `tojson` with an indentation of at most [`MAX_JSON_INDENT`], which also pays for the
/// indentation it will write before writing it.
fn bounded_tojson(budget: &Budget, value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, minijinja::Error> {
    let asked = indent.clone().or_else(|| kwargs.peek::<Option<Value>>("indent").ok().flatten());
    // minijinja reads a boolean as 2 spaces; any other indent must be a small number.
    let width = match &asked {
        None => 0,
        Some(v) if v.kind() == ValueKind::Bool => 2,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=MAX_JSON_INDENT as i64).contains(&n) => n as usize,
            _ => {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson indent {v} is outside 0..={MAX_JSON_INDENT}"),
                ))
            }
        },
    };
    let per_level = if asked.is_some() { width + 1 } else { 0 };
    budget.charge(value, per_level)?;
    let json = minijinja::filters::tojson(value, indent, kwargs)?;
    if json.as_str().map_or(0, str::len) > MAX_OUTPUT_BYTES {
        return Err(too_large("tojson"));
    }
    Ok(json)
}

/// `map`, which may name a filter to apply: only filters of [`ALLOWED_FILTERS`], each
/// call through the environment, so each pays its own way.
fn checked_map(state: &State, value: Value, args: &[Value]) -> Result<Value, minijinja::Error> {
    if let Some(name) = args.first().and_then(Value::as_str) {
        if !ALLOWED_FILTERS.contains(&name) {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("map() may not apply the filter `{name}`, which the sandbox does not run"),
            ));
        }
    }
    minijinja::filters::map(state, value, Rest(args.to_vec())).map(Value::from)
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
        let big_sep = format!("{{{{ range(10000)|join('{}') }}}}", "y".repeat(200));
        assert!(template_error(&big_sep).contains("join would build more than"));
        let big_sep_method = format!("{{{{ '{}'.join(range(10000)) }}}}", "y".repeat(200));
        assert!(template_error(&big_sep_method).contains("join would build more than"));
        let big_replace = format!("{{{{ range(5000)|join('ab')|replace('', '{}') }}}}", "z".repeat(100));
        assert!(template_error(&big_replace).contains("replace would build more than"));
        let big_replace_method = format!("{{{{ (range(5000)|join('ab')).replace('a', '{}') }}}}", "z".repeat(300));
        assert!(template_error(&big_replace_method).contains("replace would build more than"));
        assert!(template_error("{{ messages|tojson(indent=1000000000) }}").contains("indent"));
        assert!(template_error("{{ messages|tojson(100) }}").contains("indent"));
        assert!(template_error("{{ range(10001)|list }}").contains("range() may make at most 10000"));
        // Within the bounds they behave as Jinja does.
        assert_eq!(render("{{ 'a-b-c'|replace('-', '+') }}|{{ 'a-b-c'.replace('-', '+', 1) }}|{{ '-'.join(['x', 1]) }}").unwrap(), "a+b+c|a+b-c|x-1");
        assert_eq!(render("{{ {'k': [1]}|tojson(indent=2) }}").unwrap(), "{\n  \"k\": [\n    1\n  ]\n}");
        assert_eq!(render("{{ range(3)|map('string')|join('+') }} {{ [3, 1, 2]|sort|list }} {{ loop_free|default('d') }}").unwrap(), "0+1+2 [1, 2, 3] d");
    }

    #[test]
    fn filters_pay_for_what_they_read() {
        // Each element is under the replace limit; together they read 2,000 x 38,890 bytes.
        let many = "{% set big = range(10000)|join %}{{ range(2000)|map('replace', '', big)|list|length }}";
        assert!(template_error(many).contains("work budget"), "{}", template_error(many));
        // A loop of "linear" filters over a large value stops early.
        let sorts = "{% set big = range(10000)|join %}{% for i in range(1000) %}{% set x = big|list|sort %}{% endfor %}";
        assert!(template_error(sorts).contains("work budget"));
        assert!(render("{% set big = range(10000)|join %}{% for i in range(20) %}{% set x = big|list|sort %}{% endfor %}ok").is_ok());
        // A value repeated by sharing (each level holds the one below twice) costs what it
        // would cost written out, and the walk stops when the budget is spent.
        let shared = "{% set ns = namespace(x='abcdefgh') %}{% for i in range(40) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x|length }}{{ ns.x|tojson|length }}";
        assert!(template_error(shared).contains("work budget"));
        let method = "{% set big = range(10000)|join %}{% for i in range(1000) %}{% set x = big.upper() %}{% endfor %}";
        assert!(template_error(method).contains("work budget"));
    }

    #[test]
    fn arguments_used_per_item_and_captured_output_pay_too() {
        let path = "{% set p = range(10000)|join('.') %}{{ range(1000)|map('string')|map(attribute=p)|list|length }}";
        assert!(template_error(path).contains("work budget"));
        let needles = "{% set h = range(10000)|join('ab') %}{{ range(10000)|map('string')|select('in', h)|list|length }}";
        assert!(template_error(needles).contains("work budget"));
        let trims = "{% set c = range(10000)|join %}{% for i in range(100) %}{% set x = c|trim(c) %}{% endfor %}";
        assert!(template_error(trims).contains("work budget"));
        // Output captured by a set block never reaches the output limit; it pays as printed.
        let captured = format!("{{% set h = range(10000)|join('{}') %}}{{% set x %}}{{% for i in range(300) %}}{{{{ h }}}}{{% endfor %}}{{% endset %}}", "y".repeat(100));
        assert!(template_error(&captured).contains("work budget"));
        let e = template_error("{{ debug() }}");
        assert!(e.contains("unknown function"), "{e}");
    }

    #[test]
    fn namespaces_are_used_only_through_their_attributes() {
        for t in [
            "{% set a = namespace(x=0) %}{% set a.x = a %}{{ (a ~ '')|length }}",
            "{% set a = namespace(x=0) %}{% set a.x = [a] %}",
            "{% set a = namespace(x=0) %}{% with b = a %}{% endwith %}",
            "{% set l = [namespace(x=0)] %}",
            "{% set f = namespace %}",
        ] {
            let why = refusal(t);
            assert!(why.contains("namespace"), "{t}: {why}");
        }
        assert_eq!(render("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}").unwrap(), "2");
    }

    #[test]
    fn tests_and_exceptions_pay_and_bad_arguments_are_errors() {
        let shared = format!("{{% set x = 'abcdefgh' %}}{}", "{% set x = [x, x] %}".repeat(40));
        assert!(template_error(&format!("{shared}{{{{ x is startingwith('x') }}}}")).contains("work budget"));
        assert!(template_error(&format!("{shared}{{{{ raise_exception(x) }}}}")).contains("work budget"));
        assert!(template_error("{{ 4 is divisibleby(0) }}").contains("divisor"));
        assert!(template_error("{{ [4]|select('divisibleby', 0)|list }}").contains("divisor"));
        assert_eq!(render("{{ 4 is divisibleby(2) }} {{ messages[0] is mapping }}").unwrap(), "True True");
        for indent in ["9223372036854775808", "18446744073709551615", "-1", "'x'"] {
            let e = template_error(&format!("{{{{ 1|tojson(indent={indent}) }}}}"));
            assert!(e.contains("indent"), "{indent}: {e}");
        }
        assert_eq!(render("{{ [1]|tojson(indent=true) }}").unwrap(), "[\n  1\n]");
    }

    #[test]
    fn counting_an_empty_string_ends() {
        assert_eq!(render("{{ 'abc'.count('') }} {{ 'abcab'.count('ab') }}").unwrap(), "4 2");
    }

    #[test]
    fn long_tags_and_sources_are_refused_before_compiling() {
        let chain = format!("{{{{ x{} }}}}", ".a".repeat(300_000));
        assert!(refusal(&chain).contains("over the limit"));
        let chain = format!("{{{{ x{} }}}}", " - 1".repeat(2_000));
        assert!(refusal(&chain).contains("more than 512 tokens"));
        let filters = format!("{{% if false %}}{{{{ x{} }}}}{{% endif %}}", "|trim".repeat(1_000));
        assert!(refusal(&filters).contains("more than 512 tokens"));
    }

    /// Printing, serializing and dropping a deeply nested value recurse in minijinja; the
    /// rendering thread's own stack keeps that off the caller's (here 256 KiB) stack.
    #[test]
    fn deep_nesting_does_not_overflow_the_callers_stack() {
        let deep = "{% set ns = namespace(x=0) %}{% for i in range(2000) %}{% set ns.x = [[[ns.x]]] %}{% endfor %}{{ ns.x|length }}{{ ns.x|tojson|length }}{{ ns.x }}";
        let caller = std::thread::Builder::new().stack_size(256 << 10).spawn(move || render(deep).map(|s| s.len())).unwrap();
        let rendered = caller.join().expect("the caller's thread survives");
        assert!(rendered.is_ok() || matches!(rendered, Err(SandboxError::Template(_))), "{rendered:?}");
        let deeper = "{% set ns = namespace(x=0) %}{% for i in range(9000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}";
        assert!(template_error(deeper).contains("fuel"));
    }

    #[test]
    fn loop_cycle_without_arguments_is_refused() {
        assert!(refusal("{% for m in messages %}{{ loop.cycle() }}{% endfor %}").contains("loop.cycle()"));
        assert_eq!(render("{% for m in messages %}{{ loop.cycle('a', 'b') }}{% endfor %}").unwrap(), "ab");
    }

    #[test]
    fn output_stops_at_the_limit() {
        // Each join is 38,890 bytes: 26 fit in the limit, 27 do not.
        let t = "{% for i in range(27) %}{{ range(10000)|join }}{% endfor %}";
        assert!(matches!(render(t), Err(SandboxError::OutputTooLarge)));
        assert_eq!(render("{% for i in range(26) %}{{ range(10000)|join }}{% endfor %}").unwrap().len(), 26 * 38_890);
    }

    #[test]
    fn fuel_stops_endless_loops_and_no_file_is_read() {
        let e = template_error("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}");
        assert!(e.contains("fuel"), "{e}");
        for t in ["{% include '/etc/passwd' %}", "{% import '/etc/hostname' as x %}", "{% extends '/etc/passwd' %}"] {
            let e = template_error(t);
            assert!(e.contains("not found") && !e.contains("root:"), "{t}: {e}");
        }
    }
}
