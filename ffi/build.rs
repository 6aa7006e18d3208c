//! Gives libintent.so the SONAME of its ABI major (`libintent.so.1`).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libintent.so.1");
    }
}
