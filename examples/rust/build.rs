//! Finds the installed libtp: the TP_LIB_DIR environment variable if set, else pkg-config.
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TP_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let dirs: Vec<String> = match env::var("TP_LIB_DIR") {
        Ok(dir) => vec![dir],
        Err(_) => {
            let output = Command::new("pkg-config")
                .args(["--libs-only-L", "tp"])
                .output()
                .expect("pkg-config is needed to find libtp (or set TP_LIB_DIR)");
            assert!(
                output.status.success(),
                "pkg-config cannot find tp: set PKG_CONFIG_PATH or TP_LIB_DIR"
            );
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter_map(|flag| flag.strip_prefix("-L").map(str::to_owned))
                .collect()
        }
    };
    for dir in &dirs {
        println!("cargo:rustc-link-search=native={dir}");
        // So that the tests and examples find libtp.so at run time without LD_LIBRARY_PATH.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo:rustc-link-lib=dylib=tp");
}
