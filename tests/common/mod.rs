//! Helpers shared by the integration tests: small workspaces written through the real store,
//! and for scoring, workspaces written with plain SQL (so tests do not depend on the ingest
//! path) and in-memory datasets for the detector tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rusqlite::params;
use sightline::fraud::dataset::{
    Accounts, Dataset, Entities, EntityKind, IdentityEdge, Label, NONE, Transactions,
};
use sightline::library::{self, ProductMeta};
use sightline::store::{OpenMode, Workspace};

/// 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600;
pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 86_400;

/// A workspace under construction.
pub struct WsBuilder {
    pub ws: Workspace,
    next_tx: i64,
}

impl WsBuilder {
    pub fn new(path: &Path) -> Self {
        let ws = Workspace::open(path, OpenMode::CreateIfMissing).expect("open workspace");
        ws.conn().execute_batch("BEGIN").expect("begin");
        Self { ws, next_tx: 1 }
    }

    /// Creates accounts `A-0001`.. and returns their row ids (1-based, in order).
    pub fn accounts(&mut self, n: usize) {
        let mut st = self
            .ws
            .conn()
            .prepare("INSERT INTO accounts(ext_id, created_at) VALUES (?1, ?2)")
            .expect("prepare");
        for i in 1..=n {
            st.execute(params![format!("A-{i:04}"), T0 - 400 * DAY])
                .expect("account");
        }
    }

    /// Creates an entity; returns its id.
    pub fn entity(&mut self, kind: &str, value: &str) -> i64 {
        self.ws
            .conn()
            .execute(
                "INSERT INTO entities(kind, value) VALUES (?1, ?2)",
                params![kind, value],
            )
            .expect("entity");
        self.ws.conn().last_insert_rowid()
    }

    /// An identity edge.
    pub fn uses(&mut self, account: i64, entity: i64, first_seen: i64) {
        self.ws
            .conn()
            .execute(
                "INSERT INTO account_entities(account_id, entity_id, first_seen, last_seen, uses) VALUES (?1, ?2, ?3, ?3, 1)",
                params![account, entity, first_seen],
            )
            .expect("uses");
    }

    /// A transfer between accounts.
    pub fn transfer(&mut self, ts: i64, src: i64, dst: i64, amount: f64) -> i64 {
        self.tx(ts, src, Some(dst), None, amount, "approved", None, None)
    }

    /// A card payment at a merchant.
    #[allow(clippy::too_many_arguments)]
    pub fn tx(
        &mut self,
        ts: i64,
        src: i64,
        dst: Option<i64>,
        merchant: Option<i64>,
        amount: f64,
        status: &str,
        card: Option<i64>,
        device: Option<i64>,
    ) -> i64 {
        let id = self.next_tx;
        self.next_tx += 1;
        self.ws
            .conn()
            .execute(
                "INSERT INTO transactions(id, ext_key, ts, src_account, dst_account, merchant_id, amount, status, card_id, device_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![id, format!("T-{id}"), ts, src, dst, merchant, amount, status, card, device],
            )
            .expect("transaction");
        id
    }

    pub fn label(&mut self, account: i64, label: &str) {
        self.ws
            .conn()
            .execute(
                "INSERT INTO labels(account_id, label, source, created_at) VALUES (?1, ?2, 'test', ?3)",
                params![account, label, T0],
            )
            .expect("label");
    }

    pub fn finish(self) -> Workspace {
        self.ws.conn().execute_batch("COMMIT").expect("commit");
        self.ws
    }
}

/// A small world: background transfers among `n` accounts plus planted rings.
/// Returns the account ids of (cycle, shared-device ring, card testers, fan-in collector + feeders).
pub struct Planted {
    pub cycle: Vec<i64>,
    pub device_ring: Vec<i64>,
    pub device: i64,
    pub testers: Vec<i64>,
    pub merchant: i64,
    pub fan_in: Vec<i64>,
}

/// Deterministic pseudo-random numbers for building worlds (no dependency on `rand`'s streams).
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn planted_world(b: &mut WsBuilder, n: usize, labels: bool) -> Planted {
    b.accounts(n);
    let mut rng = Lcg(7);
    let shop = b.entity("merchant", "M-1");
    let merchant = b.entity("merchant", "M-77");
    for i in 0..(n as i64 * 6) {
        let src = 1 + rng.below(n as u64) as i64;
        let dst = 1 + rng.below(n as u64) as i64;
        let ts = T0 + rng.below(60 * DAY as u64) as i64;
        if src != dst {
            b.transfer(ts, src, dst, 20.0 + rng.below(400) as f64);
        }
        if i % 3 == 0 {
            b.tx(
                ts,
                src,
                None,
                Some(shop),
                5.0 + rng.below(80) as f64,
                "approved",
                None,
                None,
            );
        }
    }
    // Families: pairs sharing a device (benign).
    for f in 0..10 {
        let d = b.entity("device", &format!("D-F{f}"));
        b.uses(100 + 2 * f, d, T0 - 300 * DAY);
        b.uses(101 + 2 * f, d, T0 - 100 * DAY);
    }
    // A hub: a public Wi-Fi IP used by 60 accounts.
    let ip = b.entity("ip", "10.0.0.1");
    for a in 1..=60 {
        b.uses(a, ip, T0 + a * HOUR);
    }
    // A cycle of 4, moving $9,800 round within two days.
    let cycle: Vec<i64> = vec![n as i64 - 10, n as i64 - 11, n as i64 - 12, n as i64 - 13];
    let mut ts = T0 + 20 * DAY;
    let mut amount = 9_800.0;
    for k in 0..cycle.len() {
        b.transfer(ts, cycle[k], cycle[(k + 1) % cycle.len()], amount);
        ts += 10 * HOUR;
        amount -= 50.0;
    }
    // Six accounts on one device within three days.
    let device = b.entity("device", "D-1042");
    let device_ring: Vec<i64> = (0..6).map(|k| n as i64 - 20 - k).collect();
    for (k, &a) in device_ring.iter().enumerate() {
        b.uses(a, device, T0 + 30 * DAY + k as i64 * 12 * HOUR);
    }
    // Card testing: 28 attempts with many cards at M-77 in four minutes.
    let testers: Vec<i64> = vec![n as i64 - 30, n as i64 - 31];
    for k in 0..28 {
        let card = b.entity("card", &format!("C-{k}"));
        let status = if k % 3 == 0 { "approved" } else { "declined" };
        b.tx(
            T0 + 40 * DAY + k * 8,
            testers[(k % 2) as usize],
            None,
            Some(merchant),
            1.0,
            status,
            Some(card),
            None,
        );
    }
    // Fan-in: eight feeders pay one collector similar amounts within two days.
    let collector = n as i64 - 40;
    let mut fan_in = vec![collector];
    for k in 0..8 {
        let feeder = n as i64 - 41 - k;
        b.transfer(
            T0 + 50 * DAY + k * 5 * HOUR,
            feeder,
            collector,
            4_900.0 + k as f64,
        );
        fan_in.push(feeder);
    }
    if labels {
        for (i, a) in cycle
            .iter()
            .chain(&device_ring)
            .chain(&testers)
            .chain(&fan_in)
            .enumerate()
        {
            if i % 2 == 0 {
                b.label(*a, "fraud");
            }
        }
        for a in (1..n as i64 - 60).step_by(5) {
            b.label(a, "legit");
        }
    }
    Planted {
        cycle,
        device_ring,
        device,
        testers,
        merchant,
        fan_in,
    }
}

/// An in-memory dataset from transfers `(ts, src, dst, amount)` among `n` accounts.
pub fn dataset_from_transfers(n: usize, transfers: &[(i64, u32, u32, f64)]) -> Dataset {
    let mut tx = Transactions::default();
    let mut sorted = transfers.to_vec();
    sorted.sort_by_key(|t| t.0);
    for (i, &(ts, s, d, a)) in sorted.iter().enumerate() {
        tx.db_id.push(i as i64 + 1);
        tx.ts_secs.push(ts);
        tx.src.push(s);
        tx.dst.push(d);
        tx.merchant.push(NONE);
        tx.amount.push(a);
        tx.declined.push(false);
        tx.device.push(NONE);
        tx.ip.push(NONE);
        tx.card.push(NONE);
        tx.promo.push(NONE);
    }
    Dataset {
        accounts: Accounts {
            db_id: (1..=n as i64).collect(),
            ext_id: (1..=n).map(|i| format!("A-{i:04}")).collect(),
            created_at_secs: vec![None; n],
        },
        entities: Entities::default(),
        tx,
        identity: Vec::<IdentityEdge>::new(),
        promo_codes: Vec::new(),
        labels: vec![Label::Unknown; n],
    }
}

/// Adds an entity to an in-memory dataset; returns its index.
pub fn add_entity(ds: &mut Dataset, kind: EntityKind, value: &str) -> u32 {
    ds.entities.db_id.push(ds.entities.db_id.len() as i64 + 1);
    ds.entities.kind.push(kind);
    ds.entities.value.push(value.to_string());
    ds.entities.db_id.len() as u32 - 1
}

/// A workspace with three accounts, a merchant, four transactions, a label and one photo.
pub fn small_workspace(dir: &Path) -> PathBuf {
    let path = dir.join("small.sqlite");
    let mut ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
    ws.conn()
        .execute_batch(
            "INSERT INTO accounts(id, ext_id, name) VALUES (1,'A-0001','Ada Lovelace'),(2,'A-0002','Ben Okri'),(3,'A-0003','Cleo Park');
             INSERT INTO entities(id, kind, value, name) VALUES (1,'merchant','M-0077','Corner Shop'),(2,'device','D-01042',NULL);
             INSERT INTO transactions(ext_key, ts, src_account, dst_account, merchant_id, amount, status, channel)
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
