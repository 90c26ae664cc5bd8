//! The API's `schema.graphql` as graphql_client's parser can read it: the
//! same file without the description of the `schema` block (the parser
//! rejects a described schema). Derived here at build time rather than kept
//! as a second committed copy. The derive macro takes a path inside this
//! crate, so the result goes to `web/.schema.generated.graphql` (ignored by git).

use std::{fs, path::Path};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = dir.join("../schema.graphql");
    println!("cargo:rerun-if-changed={}", source.display());
    let sdl = fs::read_to_string(&source).expect("schema.graphql at the repository root");
    let plain = match sdl.find("\nschema {") {
        Some(at) => {
            let head = &sdl[..at];
            // A block description ends right before `schema {`: drop it.
            match head.strip_suffix("\"\"\"").and_then(|h| h.rfind("\"\"\"")) {
                Some(start) => format!("{}{}", &head[..start], &sdl[at + 1..]),
                None => sdl.clone(),
            }
        }
        None => sdl.clone(),
    };
    let out = dir.join(".schema.generated.graphql");
    if fs::read_to_string(&out).ok().as_deref() != Some(plain.as_str()) {
        fs::write(&out, plain).expect("write the generated schema");
    }
}
