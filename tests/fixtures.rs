//! The checked-in fixtures are exactly what the generators write: nobody edits them by hand,
//! and a change to a generator must come with regenerated files (`sightline fixtures --out fixtures`).

use std::path::Path;

use sightline::fixtures::{DEMO_SEED, embedded, products};

fn same_files(generated: &Path, checked_in: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(checked_in)
        .expect("checked-in folder")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "{} is empty", checked_in.display());
    for name in names {
        let a = std::fs::read(generated.join(&name)).expect("generated file");
        let b = std::fs::read(checked_in.join(&name)).expect("checked-in file");
        assert!(
            a == b,
            "{} differs from the generator's output",
            checked_in.join(&name).display()
        );
    }
}

#[test]
fn product_fixtures_match_the_generator() {
    let dir = tempfile::tempdir().expect("tempdir");
    products::write_all(dir.path(), DEMO_SEED).expect("generate");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/products");
    for sub in ["photos", "masks", "photo_masks"] {
        same_files(&dir.path().join(sub), &root.join(sub));
    }
    assert_eq!(
        std::fs::read(dir.path().join("products.csv")).expect("csv"),
        embedded::PRODUCTS_CSV
    );
    assert_eq!(embedded::PRODUCT_PHOTOS.len(), products::catalogue().len());
}
