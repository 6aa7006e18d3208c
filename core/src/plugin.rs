//! The plugin host: finds backend plugins, checks their ABI, and wraps their C tables
//! as [`Model`] and [`EvalContext`].
//!
//! Search order for plugins: an explicit path (file or directory) given by the caller,
//! then the absolute directories in `INTENT_PLUGIN_PATH` (`:`-separated; relative and
//! empty entries are skipped, and the variable is ignored in setuid/setgid processes),
//! then the directory of the library holding this code (libintent), then the
//! executable's directory. The current directory is never searched implicitly. A plugin
//! file writable by every user (or in such a directory without the sticky bit) is
//! refused. Plugins are opened with `RTLD_NOW | RTLD_LOCAL` and stay loaded for the life
//! of the process.

use crate::backend::{BatchToken, ContextSpec, EvalContext, Model, ModelFacts};
use crate::error::{Error, Result, Status};
use intent_plugin_abi as abi;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

pub use intent_plugin_abi::{ABI_MAJOR, ABI_MINOR};

/// Environment variable with extra plugin directories or files, `:`-separated.
pub const PLUGIN_PATH_ENV: &str = "INTENT_PLUGIN_PATH";
/// File name prefix of backend plugins (`libintent_backend_<name>.so`).
pub const PLUGIN_FILE_PREFIX: &str = "libintent_backend_";
/// File name suffix of backend plugins on this platform.
pub const PLUGIN_FILE_SUFFIX: &str = std::env::consts::DLL_SUFFIX;

/// A loaded, ABI-checked plugin.
#[derive(Debug)]
pub struct Plugin {
    /// Backend name, e.g. `gguf-cpu`.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Model format it loads: `gguf`, `hf` or `gptq`.
    pub model_format: String,
    /// One-line description.
    pub description: String,
    /// ABI version the plugin was built for.
    pub abi: (u32, u32),
    /// File it was loaded from.
    pub path: PathBuf,
    table: abi::PluginTable,
}

// SAFETY: the table holds static strings and function pointers of a library that stays loaded.
unsafe impl Send for Plugin {}
unsafe impl Sync for Plugin {}

/// Where a plugin file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginSource {
    /// Given by the caller.
    Explicit,
    /// From `INTENT_PLUGIN_PATH`.
    Environment,
    /// The directory of libintent.
    LibraryDir,
    /// The executable's directory.
    ExecutableDir,
}

impl PluginSource {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginSource::Explicit => "explicit path",
            PluginSource::Environment => PLUGIN_PATH_ENV,
            PluginSource::LibraryDir => "libintent's directory",
            PluginSource::ExecutableDir => "executable's directory",
        }
    }
}

/// One plugin file found during discovery, and what became of it.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The file.
    pub path: PathBuf,
    /// Where it was found.
    pub source: PluginSource,
    /// The plugin, or why it was skipped.
    pub outcome: std::result::Result<Arc<Plugin>, Error>,
    /// For a loaded plugin: `Ok` if it can run here, else why not.
    pub probe: std::result::Result<(), Error>,
}

fn to_str(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: plugins hand out NUL-terminated strings that outlive the call.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

fn plugin_status(code: i32) -> Status {
    match code {
        abi::status::INVALID_ARGUMENT => Status::InvalidArgument,
        abi::status::MODEL_LOAD => Status::InvalidModel,
        abi::status::UNSUPPORTED => Status::UnsupportedModel,
        abi::status::OUT_OF_MEMORY | abi::status::CONTEXT_FULL => Status::OutOfMemory,
        abi::status::UNAVAILABLE => Status::PluginUnavailable,
        abi::status::BACKEND => Status::Backend,
        _ => Status::Internal,
    }
}

impl Plugin {
    fn error(&self, code: i32, what: &str) -> Error {
        // SAFETY: `last_error` returns this thread's message, valid until the next call.
        let text = to_str(unsafe { (self.table.last_error)() });
        Error::new(plugin_status(code), format!("{} ({what}): {text}", self.name))
    }

    fn check(&self, code: i32, what: &str) -> Result<()> {
        if code == abi::status::OK {
            Ok(())
        } else {
            Err(self.error(code, what))
        }
    }

    /// Asks the plugin whether it can run on this machine.
    pub fn probe(&self) -> Result<()> {
        // SAFETY: a function of the plugin's table with no arguments.
        let code = unsafe { (self.table.probe)() };
        self.check(code, "probe").map_err(|e| Error::new(Status::PluginUnavailable, e.message))
    }

    /// Re-encodes the model file `input` as `output` in the weight format `kind` with the
    /// backend's own quantizer (plugins of ABI 1.1 and later that have one), weighing each
    /// tensor's rounding error by its `importance` entry (name, one value per input
    /// column; plugins of ABI 1.2 and later) where it has one.
    pub fn quantize(&self, input: &Path, output: &Path, kind: &str, n_threads: i32, importance: &[(String, Vec<f32>)]) -> Result<()> {
        let Some(quantize) = self.table.quantize else {
            return Err(Error::new(
                Status::UnsupportedModel,
                format!("backend '{}' (plugin ABI {}.{}) has no quantizer", self.name, self.abi.0, self.abi.1),
            ));
        };
        if !importance.is_empty() && self.abi < (1, 2) {
            return Err(Error::new(
                Status::UnsupportedModel,
                format!("backend '{}' (plugin ABI {}.{}) cannot take an importance matrix (ABI 1.2 can)", self.name, self.abi.0, self.abi.1),
            ));
        }
        let c = |p: &str, what: &str| CString::new(p).map_err(|_| Error::new(Status::InvalidArgument, format!("{what} contains a NUL byte")));
        let input_c = c(&input.to_string_lossy(), "input path")?;
        let output_c = c(&output.to_string_lossy(), "output path")?;
        let kind_c = c(kind, "weight format")?;
        let names = importance.iter().map(|(name, _)| c(name, "importance tensor name")).collect::<Result<Vec<_>>>()?;
        let entries: Vec<abi::ImportanceEntry> = importance
            .iter()
            .zip(&names)
            .map(|((_, values), name)| abi::ImportanceEntry { name: name.as_ptr(), values: values.as_ptr(), n_values: values.len() })
            .collect();
        let params = abi::QuantizeParams {
            struct_size: std::mem::size_of::<abi::QuantizeParams>(),
            input: input_c.as_ptr(),
            output: output_c.as_ptr(),
            kind: kind_c.as_ptr(),
            n_threads,
            importance: if entries.is_empty() { std::ptr::null() } else { entries.as_ptr() },
            n_importance: entries.len(),
        };
        // SAFETY: the params, their strings and the importance entries live across the call.
        let code = unsafe { quantize(&params) };
        self.check(code, "quantize")
    }

    /// Opens a model with this plugin.
    pub fn open_model(self: &Arc<Self>, path: &Path, use_mmap: bool, device: i32) -> Result<PluginModel> {
        let c_path = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|_| Error::new(Status::InvalidArgument, "model path contains a NUL byte"))?;
        let params = abi::ModelParams {
            struct_size: std::mem::size_of::<abi::ModelParams>(),
            path: c_path.as_ptr(),
            use_mmap: u8::from(use_mmap),
            device,
        };
        let mut raw: *mut abi::PluginModel = std::ptr::null_mut();
        // SAFETY: valid params and out pointer for the duration of the call.
        let code = unsafe { (self.table.model_open)(&params, &mut raw) };
        self.check(code, "opening model")?;
        if raw.is_null() {
            return Err(Error::new(Status::Internal, format!("{}: model_open returned no model", self.name)));
        }
        let handle = Arc::new(ModelHandle { plugin: Arc::clone(self), raw });
        let mut info = std::mem::MaybeUninit::<abi::ModelInfo>::zeroed();
        // SAFETY: the model handle is live; `info` is writable.
        let code = unsafe { (self.table.model_info)(raw, info.as_mut_ptr()) };
        self.check(code, "model info")?;
        // SAFETY: the plugin filled the struct on success.
        let info = unsafe { info.assume_init() };
        if info.struct_size < std::mem::size_of::<abi::ModelInfo>() {
            return Err(Error::new(Status::Internal, format!("{}: ModelInfo of unexpected size {}", self.name, info.struct_size)));
        }
        let opt_tok = |t: i32| (t >= 0).then_some(t);
        let opt_str = |p: *const c_char| (!p.is_null()).then(|| to_str(p));
        let facts = ModelFacts {
            n_vocab: info.n_vocab,
            n_ctx_train: info.n_ctx_train,
            bos: opt_tok(info.bos),
            eos: opt_tok(info.eos),
            eot: opt_tok(info.eot),
            add_bos: info.add_bos != 0,
            n_params: info.n_params,
            size_bytes: info.size_bytes,
            architecture: to_str(info.architecture),
            description: to_str(info.description),
            chat_template: opt_str(info.chat_template),
            bos_text: opt_str(info.bos_text),
            eos_text: opt_str(info.eos_text),
        };
        Ok(PluginModel { handle, facts })
    }
}

struct ModelHandle {
    plugin: Arc<Plugin>,
    raw: *mut abi::PluginModel,
}
// SAFETY: plugin models may be used from many threads at once (ABI contract).
unsafe impl Send for ModelHandle {}
unsafe impl Sync for ModelHandle {}

impl Drop for ModelHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from this plugin's model_open and is freed once.
        unsafe { (self.plugin.table.model_free)(self.raw) }
    }
}

/// A model opened by a plugin.
pub struct PluginModel {
    handle: Arc<ModelHandle>,
    facts: ModelFacts,
}

impl PluginModel {
    /// The plugin that opened it.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.handle.plugin
    }
}

impl Model for PluginModel {
    fn facts(&self) -> &ModelFacts {
        &self.facts
    }

    fn tokenize(&self, text: &str, parse_special: bool) -> Result<Vec<i32>> {
        let p = &self.handle.plugin;
        let mut out = vec![0i32; text.len() + 8];
        loop {
            let mut n = 0usize;
            // SAFETY: text and out are valid for their lengths; the model is live.
            let code = unsafe {
                (p.table.tokenize)(self.handle.raw, text.as_ptr(), text.len(), u8::from(parse_special), out.as_mut_ptr(), out.len(), &mut n)
            };
            p.check(code, "tokenize")?;
            if n <= out.len() {
                out.truncate(n);
                return Ok(out);
            }
            out.resize(n, 0);
        }
    }

    fn new_context(&self, spec: &ContextSpec) -> Result<Box<dyn EvalContext>> {
        let p = &self.handle.plugin;
        let params = abi::ContextParams {
            struct_size: std::mem::size_of::<abi::ContextParams>(),
            n_ctx: spec.n_ctx,
            n_batch: spec.n_batch,
            n_seq_max: spec.n_seq_max,
            n_threads: spec.n_threads,
        };
        let mut raw: *mut abi::PluginContext = std::ptr::null_mut();
        // SAFETY: valid pointers for the call; the model is live.
        let code = unsafe { (p.table.context_new)(self.handle.raw, &params, &mut raw) };
        p.check(code, "creating context")?;
        if raw.is_null() {
            return Err(Error::new(Status::Internal, format!("{}: context_new returned no context", p.name)));
        }
        Ok(Box::new(PluginContext { model: Arc::clone(&self.handle), raw }))
    }
}

struct PluginContext {
    model: Arc<ModelHandle>,
    raw: *mut abi::PluginContext,
}
// SAFETY: a context moves between threads but is used by one at a time (`&mut self`).
unsafe impl Send for PluginContext {}

impl Drop for PluginContext {
    fn drop(&mut self) {
        // SAFETY: the context came from this plugin and is freed once, before its model.
        unsafe { (self.model.plugin.table.context_free)(self.raw) }
    }
}

fn pos_arg(p: Option<i32>) -> i32 {
    p.unwrap_or(-1)
}

impl EvalContext for PluginContext {
    fn eval(&mut self, tokens: &[BatchToken], candidates: &[i32]) -> Result<Vec<f32>> {
        let p = &self.model.plugin;
        let ids: Vec<i32> = tokens.iter().map(|t| t.token).collect();
        let positions: Vec<i32> = tokens.iter().map(|t| t.pos).collect();
        let seqs: Vec<i32> = tokens.iter().map(|t| t.seq).collect();
        let output: Vec<u8> = tokens.iter().map(|t| u8::from(t.output)).collect();
        let n_out = output.iter().filter(|&&o| o != 0).count();
        let mut logits = vec![f32::NAN; n_out * candidates.len()];
        let batch = abi::Batch {
            struct_size: std::mem::size_of::<abi::Batch>(),
            n_tokens: u32::try_from(tokens.len()).map_err(|_| Error::new(Status::OutOfMemory, "batch too large"))?,
            tokens: ids.as_ptr(),
            positions: positions.as_ptr(),
            seq_ids: seqs.as_ptr(),
            output: output.as_ptr(),
            n_candidates: candidates.len() as u32,
            candidates: candidates.as_ptr(),
        };
        // SAFETY: all arrays live for the call and match the counts in `batch`.
        let code = unsafe { (p.table.eval)(self.raw, &batch, logits.as_mut_ptr()) };
        p.check(code, "eval")?;
        if let Some(i) = logits.iter().position(|v| v.is_nan()) {
            return Err(Error::new(Status::Backend, format!("{}: eval left logit {i} unwritten or NaN", p.name)));
        }
        Ok(logits)
    }

    fn seq_copy(&mut self, src: i32, dst: i32, p0: Option<i32>, p1: Option<i32>) -> Result<()> {
        let p = &self.model.plugin;
        // SAFETY: the context is live and used by this thread only.
        let code = unsafe { (p.table.seq_copy)(self.raw, src, dst, pos_arg(p0), pos_arg(p1)) };
        p.check(code, "seq_copy")
    }

    fn seq_remove(&mut self, seq: i32, p0: Option<i32>, p1: Option<i32>) -> Result<()> {
        let p = &self.model.plugin;
        // SAFETY: the context is live and used by this thread only.
        let code = unsafe { (p.table.seq_remove)(self.raw, seq, pos_arg(p0), pos_arg(p1)) };
        p.check(code, "seq_remove")
    }
}

/// Plugins loaded so far, by canonical path; they stay loaded for the life of the process.
fn registry() -> &'static Mutex<HashMap<PathBuf, std::result::Result<Arc<Plugin>, Error>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, std::result::Result<Arc<Plugin>, Error>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// An environment variable the library reads for paths, or `None` when the process runs
/// with elevated privileges (setuid or setgid: `AT_SECURE`), where, as glibc does with
/// `LD_LIBRARY_PATH`, the environment of the user who started it is not trusted.
pub fn trusted_env(name: &str) -> Option<std::ffi::OsString> {
    // SAFETY: getauxval only reads the process's auxiliary vector.
    if unsafe { libc::getauxval(libc::AT_SECURE) } != 0 {
        return None;
    }
    std::env::var_os(name)
}

/// Refuses a plugin file that another user could have put there or changed: one writable
/// by every user, or in a directory writable by every user without the sticky bit.
fn check_permissions(canonical: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let refuse = |what: String| Err(Error::new(Status::PluginNotFound, format!("plugin {} refused: {what}", canonical.display())));
    let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode()).unwrap_or(0);
    if mode(canonical) & 0o002 != 0 {
        return refuse("the file is writable by every user".into());
    }
    if let Some(dir) = canonical.parent() {
        let m = mode(dir);
        if m & 0o002 != 0 && m & 0o1000 == 0 {
            return refuse(format!("its directory {} is writable by every user", dir.display()));
        }
    }
    Ok(())
}

/// Loads (once per process) and ABI-checks the plugin at `path`. A plugin file writable by
/// every user, or in a world-writable directory without the sticky bit, is refused.
pub fn load(path: &Path) -> Result<Arc<Plugin>> {
    let canonical = path
        .canonicalize()
        .map_err(|e| Error::new(Status::PluginNotFound, format!("plugin {}: {e}", path.display())))?;
    check_permissions(&canonical)?;
    let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(done) = reg.get(&canonical) {
        return done.clone();
    }
    let outcome = load_uncached(&canonical);
    reg.insert(canonical, outcome.clone());
    outcome
}

fn load_uncached(path: &Path) -> Result<Arc<Plugin>> {
    use libloading::os::unix::{Library, Symbol, RTLD_LOCAL, RTLD_NOW};
    let shown = path.display();
    // SAFETY: loading a library runs its initialisers; plugins are trusted code chosen by path.
    let lib = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
        let cause = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.to_string());
        Error::new(Status::PluginNotFound, format!("cannot load {shown}: {cause}"))
    })?;
    // SAFETY: the symbol, if present, has the documented entry signature.
    let entry: Symbol<abi::EntryFn> = unsafe { lib.get(abi::ENTRY_SYMBOL.as_bytes()) }.map_err(|_| {
        Error::new(Status::PluginNotFound, format!("{shown} is not a libintent plugin (no `{}` symbol)", abi::ENTRY_SYMBOL))
    })?;
    // SAFETY: calling the entry point; it returns a pointer to a static table or NULL.
    let table_ptr = unsafe { entry() };
    if table_ptr.is_null() {
        return Err(Error::new(Status::PluginNotFound, format!("{shown}: entry point returned NULL")));
    }
    // SAFETY: every ABI version starts with `struct_size`, `abi_major`, `abi_minor`.
    let (size, major, minor) = unsafe {
        let p = table_ptr as *const u8;
        (
            std::ptr::read_unaligned(p as *const usize),
            std::ptr::read_unaligned(p.add(std::mem::size_of::<usize>()) as *const u32),
            std::ptr::read_unaligned(p.add(std::mem::size_of::<usize>() + 4) as *const u32),
        )
    };
    if major != abi::ABI_MAJOR {
        return Err(Error::new(
            Status::PluginAbiMismatch,
            format!(
                "{shown} was built for plugin ABI {major}.{minor}, this libintent speaks ABI {}.{}",
                abi::ABI_MAJOR,
                abi::ABI_MINOR
            ),
        ));
    }
    if size < abi::MIN_TABLE_SIZE {
        return Err(Error::new(
            Status::PluginAbiMismatch,
            format!("{shown}: plugin table is {size} bytes, ABI {}.0 needs {}", abi::ABI_MAJOR, abi::MIN_TABLE_SIZE),
        ));
    }
    // SAFETY: the table holds at least every v1.0 field; later fields are read only when
    // the plugin's table is large enough to hold them (an older plugin's end is not read).
    let table = unsafe {
        let mut table = std::mem::MaybeUninit::<abi::PluginTable>::uninit();
        std::ptr::copy_nonoverlapping(table_ptr as *const u8, table.as_mut_ptr() as *mut u8, abi::MIN_TABLE_SIZE);
        let quantize_end = std::mem::offset_of!(abi::PluginTable, quantize) + std::mem::size_of::<Option<abi::QuantizeFn>>();
        let quantize = if size >= quantize_end { (*table_ptr).quantize } else { None };
        std::ptr::addr_of_mut!((*table.as_mut_ptr()).quantize).write(quantize);
        table.assume_init()
    };
    let plugin = Plugin {
        name: to_str(table.name),
        version: to_str(table.version),
        model_format: to_str(table.model_format),
        description: to_str(table.description),
        abi: (major, minor),
        path: path.to_path_buf(),
        table,
    };
    // Keep the library loaded for the life of the process: the table points into it.
    std::mem::forget(lib);
    Ok(Arc::new(plugin))
}

/// The directory of the shared object (or executable) holding this code.
pub fn library_dir() -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the address of one of our own functions.
    let ok = unsafe { libc::dladdr(library_dir as *const libc::c_void, &mut info) };
    if ok == 0 || info.dli_fname.is_null() {
        return None;
    }
    let file = PathBuf::from(to_str(info.dli_fname));
    let file = file.canonicalize().unwrap_or(file);
    file.parent().map(Path::to_path_buf)
}

/// The entries of an `INTENT_PLUGIN_PATH` value that are searched: the absolute ones
/// (relative entries, and empty ones, which would mean the current directory, are skipped).
pub fn plugin_path_entries(value: &std::ffi::OsStr) -> Vec<PathBuf> {
    std::env::split_paths(value).filter(|p| p.is_absolute()).collect()
}

/// The places searched for plugins, in order, for an optional explicit path.
pub fn search_path(explicit: Option<&Path>) -> Vec<(PathBuf, PluginSource)> {
    let mut out: Vec<(PathBuf, PluginSource)> = Vec::new();
    if let Some(p) = explicit {
        out.push((p.to_path_buf(), PluginSource::Explicit));
    }
    if let Some(env) = trusted_env(PLUGIN_PATH_ENV) {
        for p in plugin_path_entries(&env) {
            out.push((p, PluginSource::Environment));
        }
    }
    if let Some(d) = library_dir() {
        out.push((d, PluginSource::LibraryDir));
    }
    if let Some(d) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        out.push((d, PluginSource::ExecutableDir));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|(p, _)| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    out
}

fn is_plugin_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(PLUGIN_FILE_PREFIX) && n.ends_with(PLUGIN_FILE_SUFFIX))
}

/// Plugin files at one search location (a file, or the plugin files of a directory).
fn files_at(location: &Path) -> Vec<PathBuf> {
    if location.is_file() {
        return vec![location.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(location)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_plugin_file(p) && p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Finds, loads and probes every plugin on the search path.
pub fn discover(explicit: Option<&Path>) -> Vec<Discovered> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (location, source) in search_path(explicit) {
        for path in files_at(&location) {
            if !seen.insert(path.canonicalize().unwrap_or_else(|_| path.clone())) {
                continue;
            }
            let outcome = load(&path);
            let probe = match &outcome {
                Ok(p) => p.probe(),
                Err(e) => Err(e.clone()),
            };
            out.push(Discovered { path, source, outcome, probe });
        }
    }
    out
}

/// The plugin file name for a backend name: `gguf-cpu` -> `libintent_backend_gguf_cpu.so`.
pub fn file_name_for(backend: &str) -> String {
    format!("{PLUGIN_FILE_PREFIX}{}{PLUGIN_FILE_SUFFIX}", backend.replace('-', "_"))
}

/// Finds a usable plugin: by backend name, or (name `None`) the first that loads models of
/// `format`. Plugins that cannot run here are skipped; the error lists what was tried.
pub fn find(backend: Option<&str>, format: &str, explicit: Option<&Path>) -> Result<Arc<Plugin>> {
    let found = discover(explicit);
    let mut reasons = Vec::new();
    for d in &found {
        match (&d.outcome, &d.probe) {
            (Ok(p), probe) => {
                let wanted = match backend {
                    Some(name) => p.name == name,
                    None => p.model_format == format,
                };
                if !wanted {
                    continue;
                }
                match probe {
                    Ok(()) => return Ok(Arc::clone(p)),
                    Err(e) => reasons.push(format!("{} skipped: {}", p.name, e.message)),
                }
            }
            (Err(e), _) => {
                let named = backend.is_some_and(|b| d.path.file_name().and_then(|n| n.to_str()) == Some(&file_name_for(b)));
                if e.status == Status::PluginAbiMismatch && named {
                    return Err(e.clone());
                }
                reasons.push(format!("{} skipped: {}", d.path.display(), e.message));
            }
        }
    }
    let what = match backend {
        Some(b) => format!("backend '{b}'"),
        None => format!("a backend for {format} models"),
    };
    let searched: Vec<String> = search_path(explicit)
        .iter()
        .map(|(p, s)| format!("{} ({})", p.display(), s.as_str()))
        .collect();
    let unavailable = !reasons.is_empty() && found.iter().any(|d| d.outcome.as_ref().is_ok_and(|p| backend.map_or(p.model_format == format, |b| p.name == b)));
    let status = if unavailable { Status::PluginUnavailable } else { Status::PluginNotFound };
    let mut message = format!("no usable plugin for {what}; searched: {}", searched.join(", "));
    if !reasons.is_empty() {
        message.push_str("; ");
        message.push_str(&reasons.join("; "));
    }
    Err(Error::new(status, message))
}
