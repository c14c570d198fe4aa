//! Helpers shared by the integration tests: small workspaces written through the real store.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sightline::library::{self, ProductMeta};
use sightline::store::{OpenMode, Workspace};

/// A workspace with three accounts, a merchant, four transactions, a label and one photo.
pub fn small_workspace(dir: &Path) -> PathBuf {
    let path = dir.join("small.sqlite");
    let mut ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
    ws.conn()
        .execute_batch(
            "INSERT INTO accounts(id, ext_id, name) VALUES (1,'A-0001','Ada Lovelace'),(2,'A-0002','Ben Okri'),(3,'A-0003','Cleo Park');
             INSERT INTO entities(id, kind, value, name) VALUES (1,'merchant','M-0077','Corner Shop'),(2,'device','D-01042',NULL);
             INSERT INTO transactions(ext_id, ts, src_account, dst_account, merchant_id, amount, status, channel)
               VALUES ('T-1',1767225600,1,2,NULL,120.0,'approved','p2p'),
                      ('T-2',1767229200,2,NULL,1,1.5,'declined','card'),
                      ('T-3',1767232800,3,1,NULL,80.25,'approved','p2p'),
                      ('T-4',1767236400,1,NULL,1,42.0,'approved','card');
             INSERT INTO labels(account_id,label,source,created_at) VALUES (2,'fraud','test',1);",
        )
        .expect("seed");
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([200, (x * 3) as u8, (y * 4) as u8])
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    let meta = ProductMeta {
        sku: "SL-MUG-001".into(),
        name: "Stoneware mug".into(),
        price: Some(18.0),
        category: "home".into(),
        colour: "red".into(),
    };
    library::import_image(&mut ws, "SL-MUG-001.png", &png, Some(&meta)).expect("import");
    path
}

/// A product-photo-like PNG: a coloured box on an off-white, slightly noisy backdrop.
pub fn product_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let inside = (w / 4..3 * w / 4).contains(&x) && (h / 5..4 * h / 5).contains(&y);
        let n = ((x * 7 + y * 13 + seed) % 5) as u8;
        if inside {
            image::Rgb([(60 + seed * 37 % 150) as u8 + n, 80 + n, 150 + n])
        } else {
            image::Rgb([232 + n, 228 + n, 218 + n])
        }
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode");
    png
}

/// A workspace whose library holds `n` product photos of `side`×`side` px, SKUs
/// `SL-TST-000`…, every third tagged `hero`.
pub fn library_workspace(dir: &Path, n: usize, side: u32) -> PathBuf {
    let path = dir.join("library.sqlite");
    let mut ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
    for i in 0..n {
        let meta = ProductMeta {
            sku: format!("SL-TST-{i:03}"),
            name: format!("Test product {i}"),
            price: Some(10.0 + i as f64),
            category: if i % 2 == 0 { "Mugs" } else { "Bags" }.into(),
            colour: "Blue".into(),
        };
        let id = library::import_image(
            &mut ws,
            &format!("SL-TST-{i:03}.png"),
            &product_png(side, side, i as u32),
            Some(&meta),
        )
        .expect("import")
        .id();
        if i % 3 == 0 {
            library::add_tags(ws.conn_mut(), &[id], &["hero".into()]).expect("tag");
        }
    }
    path
}
