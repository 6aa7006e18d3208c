//! The plugin host against real shared libraries built from a small C fixture:
//! ABI mismatch, a library that is not a plugin, a plugin whose probe fails, none found.

use intent_core::plugin::{self, file_name_for};
use intent_core::Status;
use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("intent-plugin-host-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Compiles the fake plugin with `defines` into `dir/file`.
fn build_fake(dir: &Path, file: &str, defines: &[&str]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_plugin.c");
    let out = dir.join(file);
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .args(defines)
        .status()
        .expect("cc must be installed to build the plugin fixtures");
    assert!(status.success(), "cc failed for {file}");
    out
}

#[test]
fn a_plugin_of_another_major_is_refused_naming_both_versions() {
    let dir = temp_dir("abi");
    let lib = build_fake(&dir, &file_name_for("fake-abi2"), &["-DABI_MAJOR=2", "-DPLUGIN_NAME=\"fake-abi2\""]);
    let e = plugin::load(&lib).unwrap_err();
    assert_eq!(e.status, Status::PluginAbiMismatch);
    let ours = format!("ABI {}.{}", plugin::ABI_MAJOR, plugin::ABI_MINOR);
    assert!(e.message.contains("ABI 2.3") && e.message.contains(&ours), "{}", e.message);
    // Asked for by name, the mismatch is the error the caller sees.
    let e = plugin::find(Some("fake-abi2"), "gguf", Some(&dir)).unwrap_err();
    assert_eq!(e.status, Status::PluginAbiMismatch, "{}", e.message);
}

#[test]
fn a_library_without_the_entry_point_is_not_a_plugin() {
    let dir = temp_dir("noentry");
    let lib = build_fake(&dir, &file_name_for("not-a-plugin"), &["-DNO_ENTRY"]);
    let e = plugin::load(&lib).unwrap_err();
    assert_eq!(e.status, Status::PluginNotFound);
    assert!(e.message.contains("not a libintent plugin"), "{}", e.message);
    let junk = dir.join(file_name_for("junk"));
    std::fs::write(&junk, b"this is not an ELF file").unwrap();
    let e = plugin::load(&junk).unwrap_err();
    assert!(e.message.contains("cannot load"), "{}", e.message);
}

#[test]
fn a_plugin_that_cannot_run_here_is_skipped_with_its_reason() {
    let dir = temp_dir("probe");
    build_fake(&dir, &file_name_for("fake-gpu"), &["-DPROBE_FAILS", "-DPLUGIN_NAME=\"fake-gpu\""]);
    let found = plugin::discover(Some(&dir));
    let fake = found.iter().find(|d| d.outcome.as_ref().is_ok_and(|p| p.name == "fake-gpu")).expect("discovered");
    let why = fake.probe.as_ref().unwrap_err();
    assert_eq!(why.status, Status::PluginUnavailable);
    assert!(why.message.contains("no CUDA device"), "{}", why.message);
    let e = plugin::find(Some("fake-gpu"), "gguf", Some(&dir)).unwrap_err();
    assert_eq!(e.status, Status::PluginUnavailable);
    assert!(e.message.contains("fake-gpu skipped: ") && e.message.contains("no CUDA device"), "{}", e.message);
}

#[test]
fn a_working_fake_plugin_loads_and_its_failures_carry_its_message() {
    let dir = temp_dir("ok");
    let lib = build_fake(&dir, &file_name_for("fake-ok"), &["-DPLUGIN_NAME=\"fake-ok\""]);
    let p = plugin::load(&lib).unwrap();
    assert_eq!((p.name.as_str(), p.version.as_str(), p.abi), ("fake-ok", "9.9.9", (1, 3)));
    p.probe().unwrap();
    let e = p.open_model(Path::new("/x.gguf"), false, 0).err().unwrap();
    assert_eq!(e.status, Status::UnsupportedModel);
    assert!(e.message.contains("fake plugin opens no models"), "{}", e.message);
    // Its table ends where ABI 1.0 ended: the host reads no further and knows it has no quantizer.
    let e = p.quantize(Path::new("/a.gguf"), Path::new("/b.gguf"), "Q4_K_M", 1, &[]).unwrap_err();
    assert_eq!(e.status, Status::UnsupportedModel);
    assert!(e.message.contains("has no quantizer"), "{}", e.message);
}

#[test]
fn an_unknown_backend_is_not_found_and_the_search_path_is_listed() {
    let dir = temp_dir("none");
    let e = plugin::find(Some("no-such-backend"), "gguf", Some(&dir)).unwrap_err();
    assert_eq!(e.status, Status::PluginNotFound);
    assert!(e.message.contains("no-such-backend") && e.message.contains(&dir.display().to_string()), "{}", e.message);
}

#[test]
fn a_plugin_writable_by_every_user_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("perm");
    let lib = build_fake(&dir, &file_name_for("fake-open"), &["-DPLUGIN_NAME=\"fake-open\""]);
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = plugin::load(&lib).unwrap_err();
    assert!(e.message.contains("writable by every user"), "{}", e.message);
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
    plugin::load(&lib).unwrap();

    let open_dir = temp_dir("perm-dir");
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let lib = build_fake(&open_dir, &file_name_for("fake-in-open-dir"), &["-DPLUGIN_NAME=\"fake-in-open-dir\""]);
    let e = plugin::load(&lib).unwrap_err();
    assert!(e.message.contains("directory") && e.message.contains("writable by every user"), "{}", e.message);
    // With the sticky bit (as /tmp), other users cannot replace the file: accepted.
    std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    plugin::load(&lib).unwrap();
}

#[test]
fn relative_and_empty_entries_of_the_plugin_path_are_skipped() {
    let entries = plugin::plugin_path_entries(std::ffi::OsStr::new("plugins::./x:/abs/dir:"));
    assert_eq!(entries, [PathBuf::from("/abs/dir")]);
}

#[test]
fn the_current_directory_is_never_searched_implicitly() {
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    let path = plugin::search_path(None);
    assert!(!path.is_empty());
    for (p, source) in path {
        assert!(p.is_absolute(), "relative search path {p:?} ({source:?})");
        assert_ne!(p.canonicalize().unwrap_or(p), cwd, "the current directory is searched ({source:?})");
    }
}
