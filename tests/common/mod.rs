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
