//! Compiles the int4 kernels (kernels/int4.cu) to PTX with nvcc when the `cuda` feature is
//! on; the PTX is embedded in the library and loaded through candle's CUDA device.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=kernels/int4.cu");
    println!("cargo:rerun-if-env-changed=CUDA_COMPUTE_CAP");
    println!("cargo:rerun-if-env-changed=CUDA_ROOT");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("int4.ptx");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let nvcc = std::env::var("CUDA_ROOT").map(|r| PathBuf::from(r).join("bin/nvcc")).unwrap_or_else(|_| PathBuf::from("nvcc"));
    // sm_80 is the oldest architecture with the mma.sync shapes the kernels use.
    let cap = std::env::var("CUDA_COMPUTE_CAP").unwrap_or_else(|_| "90".into());
    let status = Command::new(&nvcc)
        .args(["--ptx", "-O3", "-std=c++17", &format!("-arch=sm_{cap}"), "-o"])
        .arg(&out)
        .arg("kernels/int4.cu")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): run scripts/cuda-toolchain.sh and put its environment in place", nvcc.display()));
    assert!(status.success(), "nvcc failed on kernels/int4.cu");
}
